/* govflow form builder. Edits the builder model of govflow/designer/formmodel.py (a list of fields with
   kinds, labels, validation settings and rules); the server turns it into the form file (JSON Schema + UI
   schema), checks it, renders the live preview with the forms renderer and saves the draft. Every control
   is a plain button or input, so the whole builder works from the keyboard. No build step. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("gd-config").textContent);
  var T = JSON.parse(document.getElementById("gd-strings").textContent);
  var KINDS = {};
  config.kinds.forEach(function (k) { KINDS[k.kind] = k; });
  var RULES = ["visible_if", "required_if", "computed"];

  var model = config.model;
  var errors = config.errors || [];
  var open = {};
  var seq = 0;
  var unsaved = false;
  var jsonDirty = false;
  var previewData = null;
  var composeTimer = null;
  var composeSeq = 0;

  var $ = function (id) { return document.getElementById(id); };

  // ---------------------------------------------------------------------------------------------------
  // helpers

  var h = window.GovflowDesigner.h;
  var fmt = window.GovflowDesigner.fmt;
  var post = window.GovflowDesigner.post;

  function stripped() {
    return JSON.parse(JSON.stringify(model, function (key, value) { return key === "_id" ? undefined : value; }));
  }

  function ensureIds(fields) {
    (fields || []).forEach(function (f) {
      if (!f._id) { seq += 1; f._id = "f" + seq; }
      f.label = f.label || { zh: "", en: "" };
      f.help = f.help || { zh: "", en: "" };
      f.placeholder = f.placeholder || { zh: "", en: "" };
      f.rules = f.rules || {};
      f.settings = f.settings || {};
      f.choices = f.choices || [];
      f.children = f.children || [];
      f.schema_extra = f.schema_extra || {};
      f.ui_extra = f.ui_extra || {};
      ensureIds(f.children);
    });
  }

  function isContainer(kind) { return kind === "group" || kind === "object"; }
  function isChoice(kind) { return kind === "choice" || kind === "multichoice"; }
  function childPrefix(f, key) { return key + (f.kind === "group" ? "/*/" : "/"); }

  function changed() {
    unsaved = true;
    $("gd-save-state").textContent = T.unsaved;
    schedule();
  }

  // The variables a rule of the field `key` may use (the same scope the definition check allows).
  function namesInScope(key) {
    var parts = key.split("/");
    var names = model.fields.map(function (f) { return f.name; });
    var level = model.fields;
    for (var i = 0; i < parts.length - 1; i++) {
      if (parts[i] === "*") { continue; }
      var parent = level.filter(function (f) { return f.name === parts[i]; })[0];
      if (!parent) { break; }
      level = parent.children || [];
      names = names.concat(level.map(function (f) { return f.name; }));
    }
    var unique = [];
    names.forEach(function (n) { if (n && unique.indexOf(n) < 0) { unique.push(n); } });
    if (parts.length > 1) { unique.push("row"); }
    unique.push("settings");
    return unique;
  }

  function fieldErrors(key, deep) {
    return errors.filter(function (e) {
      var f = e.field || "";
      return f === key || (deep && f.indexOf(key + "/") === 0);
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // form controls

  function textControl(id, label, value, onInput, extra) {
    var attrs = Object.assign({ type: "text", id: id, value: value === undefined || value === null ? "" : String(value) }, extra || {});
    attrs.oninput = function (event) { onInput(event.target.value); changed(); };
    return h("div", { class: "gd-field" }, [h("label", { for: id, text: label }), h("input", attrs)]);
  }

  function checkControl(id, label, checked, onChange) {
    return h("div", { class: "gd-field" }, [
      h("label", { for: id, class: "gd-inline" }, [
        h("input", { type: "checkbox", id: id, checked: !!checked, onchange: function (event) { onChange(event.target.checked); changed(); } }),
        " " + label
      ])
    ]);
  }

  function selectControl(id, label, options, value, onChange) {
    var select = h("select", { id: id, onchange: function (event) { onChange(event.target.value); } },
      options.map(function (o) { return h("option", { value: o[0], text: o[1] }); }));
    select.value = value;
    return h("div", { class: "gd-field" }, [h("label", { for: id, text: label }), select]);
  }

  function button(text, label, onClick, attrs) {
    return h("button", Object.assign({ type: "button", "aria-label": label || null, title: label || null, onclick: onClick, text: text }, attrs || {}));
  }

  function expressionControl(f, rule, key) {
    var id = f._id + "-" + rule;
    var input = h("input", {
      type: "text",
      id: id,
      name: "expression",
      class: "gd-expr",
      value: f.rules[rule] || "",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": id + "-check",
      "hx-post": config.checkUrl,
      "hx-trigger": "input changed delay:300ms, focus",
      "hx-target": "#" + id + "-check",
      "hx-swap": "innerHTML",
      "data-scope": "form",
      "data-field-key": key,
      oninput: function (event) { f.rules[rule] = event.target.value; changed(); }
    });
    return h("div", { class: "gd-field gd-rule" }, [
      h("label", { for: id, text: T[rule] }),
      input,
      h("div", { class: "muted gd-help", text: T[rule + "_help"] }),
      h("div", { class: "gd-check", id: id + "-check", "aria-live": "polite" })
    ]);
  }

  // ---------------------------------------------------------------------------------------------------
  // the field list

  function newField(kind, siblings, topLevel) {
    var n = siblings.length + 1;
    var name = "field_" + n;
    while (siblings.some(function (s) { return s.name === name; })) { n += 1; name = "field_" + n; }
    seq += 1;
    var settings = {};
    if (kind === "multichoice") { settings.unique = true; }
    if (kind === "area") { settings.in_user_scope = true; }
    return {
      _id: "f" + seq,
      name: name,
      kind: kind,
      widget: (KINDS[kind].widgets || [])[0] || "",
      label: { zh: "", en: "" },
      help: { zh: "", en: "" },
      placeholder: { zh: "", en: "" },
      required: false,
      step: topLevel && model.steps.length ? model.steps[model.steps.length - 1].key : "",
      rules: { visible_if: "", required_if: "", computed: "" },
      settings: settings,
      choices: [],
      value_type: "string",
      children: [],
      schema_extra: kind === "raw" ? { type: "string" } : {},
      ui_extra: {}
    };
  }

  function setKind(f, kind) {
    var wasChoice = isChoice(f.kind), wasContainer = isContainer(f.kind);
    f.kind = kind;
    f.widget = (KINDS[kind].widgets || [])[0] || "";
    f.schema_extra = kind === "raw" ? { type: "string" } : {};
    delete f.items_extra;
    f.settings = kind === "multichoice" ? { unique: true } : (kind === "area" ? { in_user_scope: true } : {});
    if (!(wasChoice && isChoice(kind))) { f.choices = []; }
    if (!(wasContainer && isContainer(kind))) { f.children = []; }
  }

  function move(list, index, delta, focusId) {
    var target = index + delta;
    if (target < 0 || target >= list.length) { return; }
    var item = list.splice(index, 1)[0];
    list.splice(target, 0, item);
    changed();
    renderAll(focusId);
  }

  function renderAll(focusId) {
    var active = focusId || (document.activeElement && document.activeElement.id);
    renderSteps();
    renderList($("gd-fields"), model.fields, "", true);
    if (window.htmx) { window.htmx.process($("gd-builder")); }
    if (active) {
      var el = $(active);
      if (el) { el.focus(); }
    }
  }

  function renderList(container, fields, prefix, topLevel) {
    container.textContent = "";
    var list = h("ol", { class: "gd-field-list" });
    fields.forEach(function (f, index) { list.appendChild(renderCard(fields, f, index, prefix, topLevel)); });
    if (!fields.length) { list.appendChild(h("li", { class: "muted gd-empty", text: T.no_fields })); }
    container.appendChild(list);
    container.appendChild(renderAddBar(fields, prefix, topLevel));
  }

  function renderAddBar(fields, prefix, topLevel) {
    var id = "add-" + (prefix || "top").replace(/[^a-z0-9_]/gi, "_");
    var select = h("select", { id: id + "-kind", "aria-label": T.new_field_kind },
      config.kinds.filter(function (k) { return k.kind !== "raw"; }).map(function (k) {
        return h("option", { value: k.kind, text: k.label });
      }));
    var add = button(topLevel ? T.add_field : T.add_child, null, function () {
      var f = newField(select.value, fields, topLevel);
      fields.push(f);
      open[f._id] = true;
      changed();
      renderAll(f._id + "-label-zh");
    }, { id: id + "-button", class: "gd-add" });
    return h("div", { class: "gd-add-bar" }, [h("label", { for: id + "-kind", text: T.new_field_kind }), select, add]);
  }

  function kindLabel(kind) { return (KINDS[kind] || {}).label || kind; }

  function renderCard(fields, f, index, prefix, topLevel) {
    var key = prefix + f.name;
    var title = f.label.zh || T.untitled;
    var count = fieldErrors(key, true).length;
    var head = h("div", { class: "gd-card-head" }, [
      button("▲", fmt(T.move_up, { name: title }), function () { move(fields, index, -1, f._id + "-up"); },
        { id: f._id + "-up", disabled: index === 0, class: "gd-icon" }),
      button("▼", fmt(T.move_down, { name: title }), function () { move(fields, index, 1, f._id + "-down"); },
        { id: f._id + "-down", disabled: index === fields.length - 1, class: "gd-icon" }),
      h("span", { class: "gd-card-title", id: f._id + "-title", text: title }),
      h("code", { id: f._id + "-key", text: f.name }),
      h("span", { class: "gd-kind", text: kindLabel(f.kind) }),
      f.required ? h("span", { class: "gd-required", text: T.required_mark }) : null,
      f.rules.visible_if ? h("span", { class: "gd-tag", text: T.conditional }) : null,
      f.rules.computed ? h("span", { class: "gd-tag", text: T.computed_tag }) : null,
      count ? h("span", { class: "gd-badge", text: fmt(T.error_count, { n: count }) }) : null,
      h("span", { class: "gd-spacer" }),
      button(open[f._id] ? T.collapse : T.edit, (open[f._id] ? T.collapse : T.edit) + " " + title, function () {
        open[f._id] = !open[f._id];
        renderAll(f._id + "-toggle");
      }, { id: f._id + "-toggle", "aria-expanded": open[f._id] ? "true" : "false" }),
      button(T.remove, T.remove + " " + title, function () {
        if (!window.confirm(fmt(T.confirm_remove, { name: title }))) { return; }
        fields.splice(index, 1);
        changed();
        renderAll();
      }, { id: f._id + "-remove" })
    ]);
    var card = h("li", { class: "gd-card" + (count ? " gd-card-error" : ""), id: "card-" + f._id, "data-key": key }, [head]);
    if (open[f._id]) { card.appendChild(renderEditor(f, key, prefix, topLevel)); }
    return card;
  }

  function renderEditor(f, key, prefix, topLevel) {
    var box = h("div", { class: "gd-editor" });
    var own = fieldErrors(key, false);
    if (own.length) {
      box.appendChild(h("ul", { class: "errorlist", role: "alert" }, own.map(function (e) {
        return h("li", {}, [h("code", { text: e.path || "/" }), " " + e.message]);
      })));
    }
    var row = h("div", { class: "gd-row" });
    var nameControl = textControl(f._id + "-name", T.name, f.name, function (v) {
      f.name = v.trim();
      $(f._id + "-key").textContent = f.name;
    }, { pattern: "[a-z][a-z0-9_]*", "aria-describedby": f._id + "-name-help", spellcheck: "false" });
    // The name is part of every key below it (rules' scope, sub-fields, errors): redraw once it is typed.
    nameControl.querySelector("input").addEventListener("change", function () { renderAll(); });
    row.appendChild(nameControl);
    var kinds = config.kinds.map(function (k) { return [k.kind, k.label]; });
    row.appendChild(selectControl(f._id + "-kind", T.kind, kinds, f.kind, function (v) {
      setKind(f, v);
      changed();
      renderAll(f._id + "-kind");
    }));
    var widgets = (KINDS[f.kind] || {}).widgets || [];
    if (widgets.length > 1) {
      row.appendChild(selectControl(f._id + "-widget", T.widget, widgets.map(function (w) { return [w, T["widget_" + w] || w]; }),
        f.widget || widgets[0], function (v) { f.widget = v; changed(); }));
    }
    box.appendChild(row);
    box.appendChild(h("div", { class: "muted gd-help", id: f._id + "-name-help", text: T.name_help }));

    var labels = h("div", { class: "gd-row" });
    labels.appendChild(textControl(f._id + "-label-zh", T.label_zh, f.label.zh, function (v) {
      f.label.zh = v;
      $(f._id + "-title").textContent = v || T.untitled;
    }));
    labels.appendChild(textControl(f._id + "-label-en", T.label_en, f.label.en, function (v) { f.label.en = v; }));
    box.appendChild(labels);
    if (!isContainer(f.kind) || f.kind === "object") {
      var help = h("div", { class: "gd-row" });
      help.appendChild(textControl(f._id + "-help-zh", T.help_zh, f.help.zh, function (v) { f.help.zh = v; }));
      help.appendChild(textControl(f._id + "-help-en", T.help_en, f.help.en, function (v) { f.help.en = v; }));
      box.appendChild(help);
    }
    if (["text", "textarea", "integer", "number", "money", "id_card", "mobile"].indexOf(f.kind) >= 0) {
      var ph = h("div", { class: "gd-row" });
      ph.appendChild(textControl(f._id + "-ph-zh", T.placeholder_zh, f.placeholder.zh, function (v) { f.placeholder.zh = v; }));
      ph.appendChild(textControl(f._id + "-ph-en", T.placeholder_en, f.placeholder.en, function (v) { f.placeholder.en = v; }));
      box.appendChild(ph);
    }
    var flags = h("div", { class: "gd-row" });
    flags.appendChild(checkControl(f._id + "-required", T.required, f.required, function (v) {
      f.required = v;
      renderAll(f._id + "-required");
    }));
    if (topLevel && model.steps.length) {
      var steps = [["", T.no_step]].concat(model.steps.map(function (s) { return [s.key, (s.title.zh || s.key)]; }));
      flags.appendChild(selectControl(f._id + "-step", T.step, steps, f.step || "", function (v) { f.step = v; changed(); }));
    }
    box.appendChild(flags);
    var settings = renderSettings(f);
    if (settings) { box.appendChild(settings); }
    if (isChoice(f.kind)) { box.appendChild(renderChoices(f)); }
    if (isContainer(f.kind)) {
      var sub = h("div", { class: "gd-children" });
      box.appendChild(h("fieldset", { class: "gd-subfields" }, [
        h("legend", { text: f.kind === "group" ? T.group_fields : T.object_fields }), sub
      ]));
      renderList(sub, f.children, childPrefix(f, key), false);
    }
    var rules = h("fieldset", { class: "gd-rules" }, [h("legend", { text: T.rules })]);
    RULES.forEach(function (rule) { rules.appendChild(expressionControl(f, rule, key)); });
    box.appendChild(rules);
    box.appendChild(renderAdvanced(f));
    return box;
  }

  function numberSetting(f, name, label) {
    return textControl(f._id + "-" + name, label, f.settings[name], function (v) {
      if (v.trim() === "") { delete f.settings[name]; } else { f.settings[name] = v.trim(); }
    }, { inputmode: "decimal", size: 8 });
  }

  function renderSettings(f) {
    var box = h("fieldset", { class: "gd-settings" }, [h("legend", { text: T.validation })]);
    var row = h("div", { class: "gd-row" });
    var s = f.settings;
    var kind = f.kind;
    if (kind === "text" || kind === "textarea") {
      row.appendChild(numberSetting(f, "min_length", T.min_length));
      row.appendChild(numberSetting(f, "max_length", T.max_length));
      row.appendChild(textControl(f._id + "-pattern", T.pattern, s.pattern, function (v) {
        if (v) { s.pattern = v; } else { delete s.pattern; }
      }, { spellcheck: "false" }));
    } else if (kind === "integer" || kind === "number" || kind === "money") {
      row.appendChild(numberSetting(f, "minimum", T.minimum));
      row.appendChild(numberSetting(f, "maximum", T.maximum));
    } else if (kind === "multichoice" || kind === "group") {
      row.appendChild(numberSetting(f, "min_items", T.min_items));
      row.appendChild(numberSetting(f, "max_items", T.max_items));
      if (kind === "multichoice") {
        row.appendChild(checkControl(f._id + "-unique", T.unique, s.unique, function (v) { s.unique = v; }));
      }
    } else if (kind === "date" || kind === "datetime") {
      row.appendChild(checkControl(f._id + "-not-future", T.not_future, s.not_future, function (v) {
        if (v) { s.not_future = true; } else { delete s.not_future; }
      }));
      row.appendChild(textControl(f._id + "-not-before", T.not_before, s.not_before, function (v) {
        if (v.trim()) { s.not_before = v.trim(); } else { delete s.not_before; }
      }, { spellcheck: "false" }));
    } else if (kind === "id_card") {
      row.appendChild(textControl(f._id + "-birth", T.birth_date_field, s.birth_date_field, function (v) {
        if (v.trim()) { s.birth_date_field = v.trim(); } else { delete s.birth_date_field; }
      }));
      row.appendChild(textControl(f._id + "-sex", T.sex_field, s.sex_field, function (v) {
        if (v.trim()) { s.sex_field = v.trim(); } else { delete s.sex_field; }
      }));
    } else if (kind === "area") {
      row.appendChild(checkControl(f._id + "-scope", T.in_user_scope, s.in_user_scope !== false, function (v) {
        s.in_user_scope = v;
      }));
    } else if (kind === "file") {
      row.appendChild(numberSetting(f, "max_bytes", T.max_bytes));
      row.appendChild(textControl(f._id + "-types", T.content_types, (s.content_types || []).join(", "), function (v) {
        var list = v.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
        if (list.length) { s.content_types = list; } else { delete s.content_types; }
      }, { spellcheck: "false" }));
    } else {
      return null;
    }
    box.appendChild(row);
    return box;
  }

  function renderChoices(f) {
    var box = h("fieldset", { class: "gd-choices" }, [h("legend", { text: T.choices })]);
    box.appendChild(selectControl(f._id + "-vtype", T.value_type, [["string", T.value_string], ["integer", T.value_integer]],
      f.value_type || "string", function (v) { f.value_type = v; changed(); }));
    var table = h("table", { class: "gd-choice-table" }, [
      h("thead", {}, [h("tr", {}, [
        h("th", { scope: "col", text: T.choice_value }), h("th", { scope: "col", text: T.choice_zh }),
        h("th", { scope: "col", text: T.choice_en }), h("th", { scope: "col", text: "" })
      ])])
    ]);
    var body = h("tbody");
    f.choices.forEach(function (c, index) {
      var base = f._id + "-c" + index;
      var cell = function (name, label) {
        return h("td", {}, [h("input", {
          type: "text", id: base + "-" + name, value: c[name] || "", "aria-label": label + " " + (index + 1), size: name === "value" ? 10 : 16,
          oninput: function (event) { c[name] = event.target.value; changed(); }
        })]);
      };
      body.appendChild(h("tr", {}, [
        cell("value", T.choice_value), cell("zh", T.choice_zh), cell("en", T.choice_en),
        h("td", { class: "gd-nowrap" }, [
          button("▲", fmt(T.move_up, { name: c.zh || c.value }), function () { move(f.choices, index, -1, base + "-up"); },
            { id: base + "-up", disabled: index === 0, class: "gd-icon" }),
          button("▼", fmt(T.move_down, { name: c.zh || c.value }), function () { move(f.choices, index, 1, base + "-down"); },
            { id: base + "-down", disabled: index === f.choices.length - 1, class: "gd-icon" }),
          button("✕", T.remove + " " + (c.zh || c.value), function () { f.choices.splice(index, 1); changed(); renderAll(); },
            { class: "gd-icon", id: base + "-remove" })
        ])
      ]));
    });
    table.appendChild(body);
    box.appendChild(table);
    box.appendChild(button(T.add_choice, null, function () {
      var n = f.choices.length + 1;
      f.choices.push({ value: f.value_type === "integer" ? String(n) : "option_" + n, zh: "", en: "" });
      changed();
      renderAll(f._id + "-c" + (f.choices.length - 1) + "-zh");
    }, { id: f._id + "-add-choice" }));
    return box;
  }

  function renderAdvanced(f) {
    var id = f._id + "-extra";
    var area = h("textarea", {
      id: id, class: "gd-code", rows: 4, spellcheck: "false",
      onchange: function (event) {
        var status = $(id + "-status");
        try {
          var value = event.target.value.trim() ? JSON.parse(event.target.value) : {};
          if (typeof value !== "object" || Array.isArray(value) || value === null) { throw new Error(T.json_object); }
          f.schema_extra = value;
          status.textContent = "";
          changed();
        } catch (err) {
          status.textContent = T.bad_json + " " + err.message;
        }
      }
    });
    area.value = JSON.stringify(f.schema_extra || {}, null, 2);
    var details = h("details", { class: "gd-advanced", open: f.kind === "raw" }, [
      h("summary", { text: T.advanced }),
      h("p", { class: "muted gd-help", text: f.kind === "raw" ? T.raw_help : T.advanced_help }),
      h("label", { for: id, text: T.advanced_label }), area,
      h("div", { class: "error-message", id: id + "-status", role: "alert" })
    ]);
    return details;
  }

  // ---------------------------------------------------------------------------------------------------
  // steps

  function renderSteps() {
    var list = $("gd-step-list");
    list.textContent = "";
    if (model.steps.length) { $("gd-steps").open = true; }
    model.steps.forEach(function (step, index) {
      var base = "step-" + index;
      step.title = step.title || { zh: "", en: "" };
      list.appendChild(h("div", { class: "gd-row gd-step-row" }, [
        textControl(base + "-key", T.step_key, step.key, function (v) {
          var old = step.key;
          step.key = v.trim();
          model.fields.forEach(function (f) { if (f.step === old) { f.step = step.key; } });
        }, { size: 12 }),
        textControl(base + "-zh", T.step_zh, step.title.zh, function (v) { step.title.zh = v; }),
        textControl(base + "-en", T.step_en, step.title.en, function (v) { step.title.en = v; }),
        h("div", { class: "gd-step-buttons" }, [
          button("▲", fmt(T.move_up, { name: step.title.zh || step.key }), function () { move(model.steps, index, -1, base + "-up"); },
            { id: base + "-up", disabled: index === 0, class: "gd-icon" }),
          button("▼", fmt(T.move_down, { name: step.title.zh || step.key }), function () { move(model.steps, index, 1, base + "-down"); },
            { id: base + "-down", disabled: index === model.steps.length - 1, class: "gd-icon" }),
          button(T.remove, T.remove + " " + (step.title.zh || step.key), function () {
            model.steps.splice(index, 1);
            model.fields.forEach(function (f) { if (f.step === step.key) { f.step = ""; } });
            changed();
            renderAll();
          }, { id: base + "-remove" })
        ])
      ]));
    });
  }

  $("gd-add-step").addEventListener("click", function () {
    var n = model.steps.length + 1;
    var key = "step_" + n;
    while (model.steps.some(function (s) { return s.key === key; })) { n += 1; key = "step_" + n; }
    var first = !model.steps.length;
    model.steps.push({ key: key, title: { zh: fmt(T.step_default, { n: n }), en: "" } });
    if (first) { model.fields.forEach(function (f) { f.step = key; }); }
    changed();
    renderAll("step-" + (model.steps.length - 1) + "-zh");
  });

  // ---------------------------------------------------------------------------------------------------
  // errors, preview, JSON

  function locate(fieldKey) {
    var parts = fieldKey.split("/").filter(function (p) { return p !== "*"; });
    var level = model.fields, found = null;
    parts.forEach(function (name) {
      var f = (level || []).filter(function (x) { return x.name === name; })[0];
      if (f) { open[f._id] = true; found = f; level = f.children; }
    });
    if (found) {
      renderAll(found._id + "-name");
      var card = $("card-" + found._id);
      if (card) { card.scrollIntoView({ block: "center" }); }
    }
  }

  function renderErrors() {
    var box = $("gd-errors");
    box.textContent = "";
    if (!errors.length) {
      box.appendChild(h("p", { class: "gd-ok", text: T.no_errors }));
      return;
    }
    box.appendChild(h("p", { class: "error-message", text: fmt(T.errors_count, { n: errors.length }) }));
    box.appendChild(h("ul", { class: "errorlist gd-error-list" }, errors.map(function (e) {
      var item = h("li", {}, [h("code", { text: e.path || "/" }), " " + e.message + " "]);
      if (e.field) { item.appendChild(button(T.locate, T.locate + " " + e.field, function () { locate(e.field); }, { class: "link" })); }
      return item;
    })));
  }

  function serializePreview() {
    var params = new URLSearchParams();
    new FormData($("gd-preview-form")).forEach(function (value, name) {
      if (typeof value === "string") { params.append(name, value); }
    });
    return params.toString();
  }

  function renderPreview(preview, validated) {
    var pane = $("gd-preview");
    var active = document.activeElement && pane.contains(document.activeElement) ? document.activeElement.id : null;
    pane.textContent = "";
    if (preview && preview.broken) {
      pane.appendChild(h("p", { class: "error-message", text: preview.broken }));
    } else if (preview && preview.html) {
      pane.innerHTML = preview.html;
      // forms.js enhances repeating groups and area pickers on htmx:load; the preview is not an htmx swap.
      pane.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true, detail: { elt: pane } }));
    } else {
      pane.appendChild(h("p", { class: "muted", text: T.preview_unavailable }));
    }
    if (active && $(active)) { $(active).focus(); }
    var result = $("gd-preview-result");
    if (!validated) { return; }
    result.textContent = "";
    var outcome = preview && preview.result;
    if (!outcome) { return; }
    if (outcome.ok) {
      result.appendChild(h("p", { class: "gd-ok", text: T.preview_ok }));
      result.appendChild(h("pre", { class: "gd-json", text: JSON.stringify(outcome.document, null, 2) }));
    } else {
      result.appendChild(h("p", { class: "error-message", text: T.preview_errors }));
      result.appendChild(h("ul", { class: "errorlist" }, Object.keys(outcome.errors).map(function (path) {
        return h("li", {}, [h("code", { text: path || "/" }), " " + outcome.errors[path].join("；")]);
      })));
    }
  }

  function schedule() {
    window.clearTimeout(composeTimer);
    composeTimer = window.setTimeout(function () { compose(false); }, 400);
  }

  function compose(validate) {
    composeSeq += 1;
    var mine = composeSeq;
    return post(config.composeUrl, { model: stripped(), preview: previewData, validate: !!validate }).then(function (data) {
      if (mine !== composeSeq) { return; }
      if (!data.ok) { $("gd-save-state").textContent = data.message || T.save_failed; return; }
      errors = data.errors || [];
      renderErrors();
      refreshBadges();
      if (!jsonDirty) { $("gd-json").value = JSON.stringify(data.document, null, 2); }
      renderPreview(data.preview, validate);
    });
  }

  function refreshBadges() {
    // Error counts on the cards follow the last check without rebuilding the editors (keeps focus).
    document.querySelectorAll(".gd-card").forEach(function (card) {
      var key = card.getAttribute("data-key");
      var count = fieldErrors(key, true).length;
      card.classList.toggle("gd-card-error", count > 0);
      var head = card.querySelector(".gd-card-head");
      var badge = head.querySelector(".gd-badge");
      if (count && !badge) {
        badge = h("span", { class: "gd-badge" });
        head.insertBefore(badge, head.querySelector(".gd-spacer"));
      }
      if (badge) {
        if (count) { badge.textContent = fmt(T.error_count, { n: count }); } else { badge.remove(); }
      }
    });
  }

  $("gd-preview-form").addEventListener("change", function () {
    previewData = serializePreview();
    schedule();
  });
  $("gd-preview-validate").addEventListener("click", function () {
    previewData = serializePreview();
    window.clearTimeout(composeTimer);
    compose(true);
  });

  $("gd-json").addEventListener("input", function () {
    jsonDirty = true;
    $("gd-json-apply").disabled = false;
    $("gd-json-reset").disabled = false;
    $("gd-json-state").textContent = T.json_edited;
  });
  $("gd-json-reset").addEventListener("click", function () {
    jsonDirty = false;
    $("gd-json-apply").disabled = true;
    $("gd-json-reset").disabled = true;
    $("gd-json-state").textContent = "";
    compose(false);
  });
  $("gd-json-apply").addEventListener("click", function () {
    post(config.fromJsonUrl, { document: $("gd-json").value }).then(function (data) {
      if (!data.ok) { $("gd-json-state").textContent = data.message || T.bad_json; return; }
      model = data.model;
      model.steps = model.steps || [];
      ensureIds(model.fields);
      jsonDirty = false;
      $("gd-json-apply").disabled = true;
      $("gd-json-reset").disabled = true;
      $("gd-json-state").textContent = T.json_applied;
      initTitle();
      changed();
      renderAll();
    });
  });

  // ---------------------------------------------------------------------------------------------------
  // saving

  $("gd-save").addEventListener("click", function () {
    var state = $("gd-save-state");
    state.textContent = T.saving;
    post(config.saveUrl, { model: stripped() }).then(function (data) {
      errors = data.errors || [];
      renderErrors();
      refreshBadges();
      if (data.ok) {
        unsaved = false;
        state.textContent = fmt(data.errors && data.errors.length ? T.saved_with_errors : T.saved, { v: data.version, n: errors.length });
      } else {
        state.textContent = (data.message || T.save_failed);
        renderAll();
      }
    }).catch(function () { state.textContent = T.save_failed; });
  });

  window.addEventListener("beforeunload", function (event) {
    if (unsaved) { event.preventDefault(); event.returnValue = ""; }
  });

  // The expression check (htmx) asks for the names in scope as they are now, not when the input was drawn.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.getAttribute && elt.getAttribute("data-scope") === "form") {
      event.detail.parameters.scope = "form";
      event.detail.parameters.names = namesInScope(elt.getAttribute("data-field-key") || "").join(",");
    }
  });

  function initTitle() {
    model.title = model.title || { zh: "", en: "" };
    $("gd-title-zh").value = model.title.zh || "";
    $("gd-title-en").value = model.title.en || "";
  }
  $("gd-title-zh").addEventListener("input", function (event) { model.title.zh = event.target.value; changed(); });
  $("gd-title-en").addEventListener("input", function (event) { model.title.en = event.target.value; changed(); });

  model.steps = model.steps || [];
  ensureIds(model.fields);
  initTitle();
  renderAll();
  renderErrors();
  compose(false);
  window.govflowFormBuilder = { model: function () { return model; }, compose: compose };
})();
