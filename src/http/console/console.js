// Progressive enhancement only: every form works without this file.
"use strict";
document.addEventListener("change", (event) => {
  const input = event.target;
  // A policy file picked for upload fills the textarea it names.
  if (input.matches && input.matches("input[type=file][data-fills]") && input.files.length) {
    const target = document.getElementById(input.dataset.fills);
    const file = input.files[0];
    if (file.size > 64 * 1024) {
      alert("That file is larger than 64 KiB.");
      input.value = "";
      return;
    }
    file.text().then((text) => { target.value = text; });
  }
});
