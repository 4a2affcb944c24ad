/* govflow forms: progressive enhancement only; every form works without this file.
   - repeating groups: an "add" button that clones the empty row template (Django formset __prefix__);
   - area pickers: the plain select of areas becomes cascading county > township > village selects. */
(function () {
  "use strict";
  if (window.govflowForms) { return; }
  window.govflowForms = true;

  function initGroups(root) {
    root.querySelectorAll("[data-gf-group]").forEach(function (group) {
      var add = group.querySelector(":scope > [data-gf-add]");
      if (add) { add.hidden = false; }
    });
  }

  function addRow(button) {
    var group = button.closest("[data-gf-group]");
    var prefix = group.getAttribute("data-gf-group");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    var template = group.querySelector(":scope > template[data-gf-empty]");
    var rows = group.querySelector(":scope > [data-gf-rows]");
    if (!total || !template || !rows) { return; }
    var n = parseInt(total.value, 10) || 0;
    if (max && n >= parseInt(max.value, 10)) { return; }
    var html = template.innerHTML.split(prefix + "-__prefix__").join(prefix + "-" + n);
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(n + 1);
    init(row);
    if (window.htmx) { window.htmx.process(row); }
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  function initAreas(root) {
    root.querySelectorAll("select[data-gf-area]").forEach(function (select) {
      // Kept across an htmx swap (hx-preserve), the select may have lost its cascade: build it again then.
      var next = select.nextElementSibling;
      if (next && next.classList.contains("gf-area-cascade")) { return; }
      var options = Array.prototype.filter.call(select.options, function (o) { return o.value; });
      var known = {};
      options.forEach(function (o) { known[o.value] = o; });
      var children = {};
      options.forEach(function (o) {
        var parent = known[o.dataset.parent] ? o.dataset.parent : "";
        (children[parent] = children[parent] || []).push(o);
      });
      function chainOf(code) {
        var chain = [];
        while (code && known[code]) { chain.unshift(code); code = known[code].dataset.parent; }
        return chain;
      }
      var box = document.createElement("span");
      box.className = "gf-area-cascade";
      select.hidden = true;
      select.insertAdjacentElement("afterend", box);
      var label = document.querySelector('label[for="' + select.id + '"]');
      function render() {
        box.textContent = "";
        var chain = chainOf(select.value);
        var parent = "";
        for (var level = 0; children[parent]; level++) {
          var s = document.createElement("select");
          s.setAttribute("aria-label", (label ? label.textContent.trim() : "") + " " + (level + 1));
          s.add(new Option(select.dataset.gfBlank || "—", ""));
          children[parent].forEach(function (o) { s.add(new Option(o.dataset.name || o.text.trim(), o.value)); });
          s.value = chain[level] || "";
          (function (up) {
            s.addEventListener("change", function (event) {
              event.stopPropagation();
              select.value = event.target.value || up;
              render();
              select.dispatchEvent(new Event("change", { bubbles: true }));
            });
          })(parent);
          box.appendChild(s);
          if (!chain[level]) { break; }
          parent = chain[level];
        }
      }
      render();
    });
  }

  function init(root) {
    initGroups(root);
    initAreas(root);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-gf-add]") : null;
    if (button) { event.preventDefault(); addRow(button); }
  });
  document.addEventListener("change", function (event) {
    var box = event.target.closest ? event.target.closest(".gf-delete") : null;
    if (box) { box.closest("[data-gf-row]").classList.toggle("gf-deleted", event.target.checked); }
  });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
