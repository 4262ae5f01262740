// Drives every page of the analyst console in the system Chromium, as an analyst would.
// Run by tests/console.rs: node tests/console/run.mjs <base-url> <admin-token>
// The app runs in demo mode with a named admin token (alice), so /demo/identify plays devices.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const [base, token, shots] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const errors = [];
page.on("console", (m) => { if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`); });
page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));

const api = async (path, init = {}) => {
  const response = await fetch(base + path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers || {}) },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
};
const identify = async (persona, visitorId) =>
  (await api("/demo/identify", { method: "POST", body: JSON.stringify({ persona, visitorId }) })).body;
const signup = async (requestId) =>
  api("/api/create-account", {
    method: "POST",
    body: JSON.stringify({ requestId, username: `u${Date.now()}${Math.random()}@example.org`.replace("0.", ""), password: "correct horse battery staple" }),
  });
const step = (name) => console.log(`- ${name}`);

step("a page without a session sends you to sign in; a wrong token is refused");
await page.goto(base + "/console/attempts");
assert.match(page.url(), /\/console\/login\?next=%2Fconsole%2Fattempts$/);
await page.fill("#token", "not-the-token-0000");
await page.click("button[type=submit]");
await page.getByRole("alert").filter({ hasText: "not one of the admin tokens" }).waitFor();
// Chromium logs the refused sign-in's 401 as a console error: that one is expected.
assert.equal(errors.length, 1);
assert.match(errors[0], /401/);
errors.length = 0;

step("sign in, and land on the page asked for");
await page.fill("#token", token);
await page.click("button[type=submit]");
await page.waitForURL(base + "/console/attempts");
await page.getByText("Signed in as").waitFor();
assert.equal(await page.locator("header strong").innerText(), "alice");

step("every page loads");
for (const path of ["/console?range=hour", "/console?range=day", "/console?range=week", "/console/attempts",
  "/console/reviews", "/console/lists", "/console/policy", "/console/deliveries", "/console/deliveries?status=failed"]) {
  const response = await page.goto(base + path);
  assert.equal(response.status(), 200, path);
  await page.locator("main h1").waitFor();
  if (shots) await page.screenshot({ path: `${shots}/desktop${path.replace(/[/?=]/g, "_")}.png`, fullPage: true });
}

step("filter the attempts and open an explanation");
await page.goto(base + "/console/attempts");
await page.selectOption("#f-verdict", "block");
await page.fill("#f-code", "tor_detected");
await page.click("form.filters button[type=submit]");
await page.waitForURL(/verdict=block/);
const rows = page.locator("table.data tbody tr");
assert.ok((await rows.count()) >= 1, "a tor attempt is listed");
for (const text of await rows.allInnerTexts()) assert.match(text, /block/);
await rows.first().locator("a").first().click();
await page.getByRole("heading", { name: "Explanation" }).waitFor();
const fired = page.locator("table.explain tr.outcome-fired");
assert.ok((await fired.allInnerTexts()).some((t) => t.includes("tor")), "the tor rule fired");
const attemptUrl = page.url();
if (shots) await page.screenshot({ path: `${shots}/desktop_attempt.png`, fullPage: true });

step("label it fraud");
await page.fill("#label-reason", "tor exit, known ring");
await page.click("button[value=fraud]");
await page.getByRole("status").filter({ hasText: "Label recorded." }).waitFor();
assert.match(await page.locator("ol.labels").innerText(), /fraud by alice.*tor exit, known ring/s);

// (The tor persona's suspect score still holds it for review under the candidate.)
step("a backtest that lets tor through shows the labelled change");
await page.goto(base + "/console/policy");
const current = await page.inputValue("#candidate");
assert.match(current, /tor = "block"/);
await page.fill("#candidate", current.replace('tor = "block"', 'tor = "allow"'));
await page.click("form.stack button[type=submit]");
await page.getByRole("heading", { name: /Against \d+ labelled attempts/ }).waitFor();
const changes = await page.locator("table.changes tbody").innerText();
assert.match(changes, new RegExp(attemptUrl.split("/").pop() + "\\s+\\S+\\s+block\\s+(review|allow)\\s+fraud"));
assert.match(await page.locator("table.confusion").innerText(), /fraud\s+1 \/ 0 \/ 0\s+0 \/ \d \/ \d/);
if (shots) await page.screenshot({ path: `${shots}/desktop_backtest.png`, fullPage: true });

step("approve one held account and ban another with its device, checked through the API");
const queue = (await api("/api/reviews")).body.reviews;
assert.ok(queue.length >= 2, "two accounts wait for review");
const [first, second] = queue;
await page.goto(base + "/console/reviews");
await page.fill(`#reason-${first.accountId}`, "known customer");
await page.click(`#account-${first.accountId} button[value=approve]`);
await page.getByRole("status").filter({ hasText: "Account approved." }).waitFor();
await page.fill(`#reason-${second.accountId}`, "vpn farm");
await page.check(`#deny-${second.accountId}`);
await page.click(`#account-${second.accountId} button[value=ban]`);
await page.getByRole("status").filter({ hasText: "banned and its device deny-listed" }).waitFor();
const accounts = (await api("/api/accounts?limit=100")).body.accounts;
const status = (id) => accounts.find((a) => a.id === id || a.accountId === id)?.status;
assert.equal(status(first.accountId), "active");
assert.equal(status(second.accountId), "banned");
const denied = (await api(`/api/lists?kind=visitor_id&value=${second.visitorId}`)).body.entries;
assert.equal(denied.length, 1);
assert.equal(denied[0].action, "block");
assert.equal(denied[0].createdBy, "alice");
const actions = (await api("/api/actions")).body.actions.map((a) => `${a.actor}:${a.action}`);
for (const want of ["alice:approve", "alice:ban", "alice:label"]) assert.ok(actions.includes(want), `${want} in ${actions}`);

step("a block entry added in the console refuses that device's next signup");
const device = await identify("new_device");
await page.goto(base + `/console/devices/${device.visitorId}`);
await page.getByRole("heading", { name: "Linked identities" }).waitFor();
await page.click("text=Add a list entry for this device");
assert.equal(await page.inputValue("#l-value"), device.visitorId);
await page.selectOption("#l-action", "block");
await page.fill("#l-reason", "chargeback ring");
await page.fill("#l-expires", "30d");
await page.click("form.grid button[type=submit]");
await page.getByRole("status").filter({ hasText: "Entry added." }).waitFor();
const again = await identify("returning_device", device.visitorId);
const refused = await signup(again.requestId);
assert.equal(refused.status, 403, JSON.stringify(refused.body));
assert.equal(refused.body.code, "denylisted");

step("expire and remove entries");
const entry = page.locator("li.card", { hasText: device.visitorId }).first();
await entry.locator("input[name=reason]").fill("cleared after review");
await entry.locator("text=Expire now").click();
await page.getByRole("status").filter({ hasText: "Entry expired." }).waitFor();
const expired = page.locator("li.card", { hasText: device.visitorId }).first();
assert.match(await expired.innerText(), /expired/);
await expired.locator("input[name=reason]").fill("no longer needed");
await expired.locator("text=Remove").click();
await page.getByRole("status").filter({ hasText: "Entry removed." }).waitFor();
assert.equal((await api(`/api/lists?kind=visitor_id&value=${device.visitorId}`)).body.entries.length, 0);

step("a cross-site form post is refused and changes nothing");
const evil = "http://evil.example.org";
await page.route(evil + "/**", (route) => route.fulfill({
  contentType: "text/html",
  body: `<form id=f method=post action="${base}/console/lists">
    <input name=kind value=ip><input name=value value=203.0.113.99><input name=action value=allow>
    <input name=reason value=pwned><input name=csrf value=guess></form><script>f.submit()</script>`,
}));
await page.goto(evil + "/");
await page.waitForURL((url) => url.href.startsWith(base));
const crossSite = await page.locator("body").innerText();
assert.ok(/Refused|Sign in/.test(crossSite), crossSite);
// With the session's cookie but a foreign Origin, or without the form's token: 403.
const csrf = await (await page.goto(base + "/console/lists"), page.inputValue("form.grid input[name=csrf]"));
const form = { kind: "ip", value: "203.0.113.99", action: "allow", reason: "pwned" };
const foreign = await context.request.post(base + "/console/lists", { form: { ...form, csrf }, headers: { origin: evil }, maxRedirects: 0 });
assert.equal(foreign.status(), 403);
const tokenless = await context.request.post(base + "/console/lists", { form: { ...form, csrf: "0".repeat(64) }, maxRedirects: 0 });
assert.equal(tokenless.status(), 403);
assert.match(await tokenless.text(), /did not come from this console/);
assert.equal((await api("/api/lists?kind=ip&value=203.0.113.99")).body.entries.length, 0);

step("phone-sized pages keep their navigation and forms");
await page.setViewportSize({ width: 390, height: 844 });
for (const path of ["/console", "/console/attempts", "/console/reviews", "/console/lists", "/console/policy", "/console/deliveries", attemptUrl.replace(base, "")]) {
  await page.goto(base + path);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `${path} is ${width}px wide on a phone`);
  if (shots) await page.screenshot({ path: `${shots}/phone${path.replace(/[/?=]/g, "_")}.png`, fullPage: true });
}
await page.setViewportSize({ width: 1280, height: 900 });

step("keyboard: the skip link is the first stop and takes you to the content");
await page.goto(base + "/console");
await page.keyboard.press("Tab");
assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");

step("sign out ends the session");
await page.click("text=Sign out");
await page.waitForURL(/\/console\/login/);
await page.goto(base + "/console/lists");
assert.match(page.url(), /\/console\/login\?next=%2Fconsole%2Flists$/);

assert.deepEqual(errors, [], "no console errors");
await browser.close();
console.log("console tests passed");
