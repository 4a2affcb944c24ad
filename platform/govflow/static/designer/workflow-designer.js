/* govflow workflow designer: the vendored bpmn-js modeler draws the flow; this side panel edits govflow's
   properties of the selected element. What BPMN can say is written as BPMN (names, conditions, the default
   flow, timers, terminate ends); everything else goes into one <govflow:properties> JSON object per element,
   exactly as govflow.workflows.bpmn writes and reads it (docs/bpmn.md), so the server's bpmn_to_definition
   gets the definition back. Saving posts the XML; the server converts, checks and stores the draft and
   answers with the diagram as it now writes it and the errors with the element ids to highlight. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var config = JSON.parse($("gd-config").textContent);
  var T = JSON.parse($("gd-strings").textContent);

  var GOVFLOW_MODDLE = {
    name: "govflow",
    uri: "https://govflow.example/schema/bpmn",
    prefix: "govflow",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [{ name: "Properties", superClass: ["Element"], properties: [{ name: "text", isBody: true, type: "String" }] }]
  };
  var ID_RE = /^[a-z][a-z0-9_]{0,39}$/;
  var KIND_TARGETS = {
    start: { type: "bpmn:StartEvent" },
    user_task: { type: "bpmn:UserTask" },
    service_task: { type: "bpmn:ServiceTask" },
    exclusive: { type: "bpmn:ExclusiveGateway" },
    parallel_split: { type: "bpmn:ParallelGateway" },
    parallel_join: { type: "bpmn:ParallelGateway" },
    timer: { type: "bpmn:IntermediateCatchEvent", eventDefinitionType: "bpmn:TimerEventDefinition" },
    end: { type: "bpmn:EndEvent" }
  };
  var NODE_KINDS = ["start", "user_task", "service_task", "exclusive", "parallel_split", "parallel_join", "timer", "end"];

  var modeler = new window.BpmnJS({ container: "#gd-canvas", moddleExtensions: { govflow: GOVFLOW_MODDLE } });
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var registry = modeler.get("elementRegistry");
  var canvas = modeler.get("canvas");
  var selection = modeler.get("selection");
  var eventBus = modeler.get("eventBus");
  var bpmnReplace = modeler.get("bpmnReplace");
  var elementFactory = modeler.get("elementFactory");

  var current = null;
  var errors = [];
  var unsaved = false;
  var fromPanel = false;
  var loading = false;

  // ---------------------------------------------------------------------------------------------------
  // helpers

  var h = window.GovflowDesigner.h;
  var fmt = window.GovflowDesigner.fmt;
  var post = window.GovflowDesigner.post;

  function panelChange(fn) {
    fromPanel = true;
    try { fn(); } finally { fromPanel = false; }
  }

  function formal(text) { return moddle.create("bpmn:FormalExpression", { body: text }); }

  // ---------------------------------------------------------------------------------------------------
  // reading and writing an element's govflow properties

  function isRoot(el) { return el === canvas.getRootElement(); }

  function kindOf(el) {
    if (!el) { return null; }
    if (isRoot(el)) { return "process"; }
    var bo = el.businessObject;
    switch (bo.$type) {
      case "bpmn:StartEvent": return "start";
      case "bpmn:UserTask": case "bpmn:Task": return "user_task";
      case "bpmn:ServiceTask": case "bpmn:ScriptTask": return "service_task";
      case "bpmn:ExclusiveGateway": return "exclusive";
      case "bpmn:ParallelGateway":
        if (bo.gatewayDirection === "Diverging") { return "parallel_split"; }
        if (bo.gatewayDirection === "Converging") { return "parallel_join"; }
        return (el.incoming || []).length > 1 ? "parallel_join" : "parallel_split";
      case "bpmn:IntermediateCatchEvent": return "timer";
      case "bpmn:EndEvent": return "end";
      case "bpmn:BoundaryEvent": return "boundary";
      case "bpmn:SequenceFlow": return "edge";
      default: return "unsupported";
    }
  }

  function props(el) {
    var bo = el.businessObject;
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    var found = values.filter(function (v) { return v.$type === "govflow:Properties"; })[0];
    if (!found) { return {}; }
    try {
      var parsed = JSON.parse(found.text || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch (_err) {
      return {};
    }
  }

  function prune(value) {
    Object.keys(value).forEach(function (key) {
      var v = value[key];
      if (v === undefined || v === "" || (Array.isArray(v) && !v.length)) { delete value[key]; }
      else if (v && typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length) { delete value[key]; }
    });
    return value;
  }

  function setProps(el, value) {
    var bo = el.businessObject;
    var others = ((bo.extensionElements && bo.extensionElements.values) || []).filter(function (v) {
      return v.$type !== "govflow:Properties";
    });
    var values = others.slice();
    prune(value);
    if (Object.keys(value).length) { values.push(moddle.create("govflow:Properties", { text: JSON.stringify(value) })); }
    var container = values.length ? moddle.create("bpmn:ExtensionElements", { values: values }) : undefined;
    modeling.updateProperties(el, { extensionElements: container });
  }

  function editProps(el, fn) {
    panelChange(function () {
      var value = props(el);
      fn(value);
      setProps(el, value);
    });
  }

  function nameOf(el) { return el.businessObject.name || ""; }

  function setName(el, text) {
    panelChange(function () {
      if (isRoot(el)) { modeling.updateProperties(el, { name: text || undefined }); }
      else { modeling.updateLabel(el, text || null); }
    });
  }

  function timerDefinition(el) {
    return (el.businessObject.eventDefinitions || []).filter(function (d) {
      return d.$type === "bpmn:TimerEventDefinition";
    })[0];
  }

  function readTimer(el, key) {
    var definition = timerDefinition(el);
    var native = null;
    if (definition) {
      var m;
      var duration = definition.timeDuration && (definition.timeDuration.body || "").trim();
      var date = definition.timeDate && (definition.timeDate.body || "").trim();
      if (duration && (m = /^P(\d+)D$/.exec(duration))) { native = { days: Number(m[1]) }; }
      else if (duration && (m = /^PT(\d+)H$/.exec(duration))) { native = { hours: Number(m[1]) }; }
      else if (date) { native = { date: date }; }
    }
    var extra = props(el)[key];
    if (extra && typeof extra === "object") { return Object.assign({}, native || {}, extra); }
    return native;
  }

  // BPMN says days, hours or a date natively; the working-day calendar (and anything BPMN cannot say) goes
  // into the JSON, as the exporter does.
  function writeTimer(el, key, value) {
    var definition = timerDefinition(el);
    var extra = null;
    var changes = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    if (value && definition) {
      if ("days" in value && /^\d+$/.test(String(value.days))) {
        changes.timeDuration = formal("P" + Number(value.days) + "D");
        if (value.calendar) { extra = { calendar: value.calendar }; }
      } else if ("hours" in value && /^\d+$/.test(String(value.hours))) {
        changes.timeDuration = formal("PT" + Number(value.hours) + "H");
      } else if ("date" in value && String(value.date).trim()) {
        changes.timeDate = formal(String(value.date).trim());
      } else {
        extra = value;
      }
    } else if (value) {
      extra = value;
    }
    panelChange(function () {
      if (definition) { modeling.updateModdleProperties(el, definition, changes); }
    });
    editProps(el, function (p) { if (extra) { p[key] = extra; } else { delete p[key]; } });
  }

  // ---------------------------------------------------------------------------------------------------
  // controls

  function field(id, label, control, help) {
    return h("div", { class: "gd-field" }, [h("label", { for: id, text: label }), control, help ? h("div", { class: "muted gd-help", text: help }) : null]);
  }

  function textInput(id, label, value, onChange, attrs, help) {
    var input = h("input", Object.assign({ type: "text", id: id, value: value === undefined || value === null ? "" : String(value) }, attrs || {}));
    input.addEventListener("change", function () { onChange(input.value); });
    return field(id, label, input, help);
  }

  function selectInput(id, label, options, value, onChange, help) {
    var select = h("select", { id: id }, options.map(function (o) { return h("option", { value: o[0], text: o[1] }); }));
    select.value = value === undefined || value === null ? "" : value;
    select.addEventListener("change", function () { onChange(select.value); });
    return field(id, label, select, help);
  }

  function expressionInput(id, label, value, node, onChange, help) {
    var input = h("input", {
      type: "text",
      id: id,
      name: "expression",
      class: "gd-expr",
      value: value || "",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": id + "-check",
      "hx-post": config.checkUrl,
      "hx-trigger": "input changed delay:300ms, focus",
      "hx-target": "#" + id + "-check",
      "hx-swap": "innerHTML",
      "hx-vals": JSON.stringify({ scope: "workflow", key: config.key, node: node || "" })
    });
    input.addEventListener("change", function () { onChange(input.value.trim()); });
    return h("div", { class: "gd-field gd-rule" }, [
      h("label", { for: id, text: label }), input,
      help ? h("div", { class: "muted gd-help", text: help }) : null,
      h("div", { class: "gd-check", id: id + "-check", "aria-live": "polite" })
    ]);
  }

  function durationInput(id, label, value, node, onChange) {
    var kind = "";
    var amount = "";
    if (value && "date" in value) { kind = "date"; amount = value.date; }
    else if (value && "hours" in value) { kind = "hours"; amount = value.hours; }
    else if (value && "days" in value) { kind = value.calendar === "working" ? "working" : "days"; amount = value.days; }
    var select = h("select", { id: id + "-kind", "aria-label": label + " " + T.duration_kind }, [
      ["", T.duration_none], ["days", T.duration_days], ["working", T.duration_working], ["hours", T.duration_hours], ["date", T.duration_date]
    ].map(function (o) { return h("option", { value: o[0], text: o[1] }); }));
    select.value = kind;
    var input = h("input", { type: "text", id: id, value: amount === undefined ? "" : String(amount), size: 12, "aria-label": label + " " + T.duration_amount });
    function commit() {
      var k = select.value, v = input.value.trim();
      input.hidden = !k;
      if (!k) { onChange(null); return; }
      if (k === "date") { onChange(v ? { date: v } : null); return; }
      if (!v) { return; }
      var number = /^\d+$/.test(v) ? Number(v) : v;
      if (k === "hours") { onChange({ hours: number }); }
      else if (k === "working") { onChange({ days: number, calendar: "working" }); }
      else { onChange({ days: number }); }
    }
    input.hidden = !kind;
    select.addEventListener("change", commit);
    input.addEventListener("change", commit);
    return h("fieldset", { class: "gd-duration" }, [h("legend", { text: label }), select, " ", input,
      h("div", { class: "muted gd-help", text: T.duration_help })]);
  }

  // ---------------------------------------------------------------------------------------------------
  // the side panel

  function elementErrors(el) {
    return errors.filter(function (e) { return e.element && e.element === el.id; });
  }

  function formOptions() {
    return [["", T.none]].concat(config.forms.map(function (f) {
      return [f.key, f.title + " (" + f.key + ")" + (f.status === "draft" ? " · " + T.draft : "")];
    }));
  }

  function roleOptions(level) {
    return [["", T.none]].concat(config.roles.map(function (r) {
      var fits = !level || r.levels.indexOf(level) >= 0;
      return [r.key, r.name + " (" + r.key + ")" + (fits ? "" : " · " + T.not_at_level)];
    }));
  }

  function levelOptions() {
    return [["", T.none]].concat(config.levels.map(function (l) { return [l.key, l.name]; }));
  }

  function renderPanel(focusId) {
    var box = $("gd-props");
    box.textContent = "";
    var el = current;
    if (!el || !el.businessObject || loading) { return; }
    var kind = kindOf(el);
    var p = props(el);
    var id = el.id;
    $("gd-element").value = id;
    var own = elementErrors(el);
    if (own.length) {
      box.appendChild(h("ul", { class: "errorlist", role: "alert" }, own.map(function (e) {
        return h("li", {}, [h("code", { text: e.path || "/" }), " " + e.message]);
      })));
    }
    if (kind === "process") { renderProcess(box, el, p); }
    else if (kind === "edge") { renderEdge(box, el, p); }
    else if (kind === "boundary") { renderBoundary(box, el, p); }
    else if (kind === "unsupported") {
      box.appendChild(h("p", { class: "error-message", text: fmt(T.unsupported, { type: el.businessObject.$type }) }));
    } else { renderNode(box, el, p, kind); }
    if (window.htmx) { window.htmx.process(box); }
    if (focusId && $(focusId)) { $(focusId).focus(); }
  }

  function renderCommon(box, el, p) {
    box.appendChild(textInput("p-id", T.id, el.id, function (v) {
      if (!ID_RE.test(v)) { window.alert(T.id_invalid); renderPanel("p-id"); return; }
      if (v !== el.id && registry.get(v)) { window.alert(T.id_taken); renderPanel("p-id"); return; }
      panelChange(function () { modeling.updateProperties(el, { id: v }); });
      refreshElements();
      renderPanel("p-id");
    }, { pattern: "[a-z][a-z0-9_]*", spellcheck: "false" }, T.id_help));
    box.appendChild(textInput("p-title-zh", T.title_zh, nameOf(el), function (v) { setName(el, v.trim()); refreshElements(); }));
    box.appendChild(textInput("p-title-en", T.title_en, (p.title || {}).en, function (v) {
      editProps(el, function (q) {
        var title = Object.assign({}, q.title || {});
        if (v.trim()) { title.en = v.trim(); } else { delete title.en; }
        q.title = title;
      });
    }));
  }

  function renderNode(box, el, p, kind) {
    box.appendChild(selectInput("p-kind", T.kind, NODE_KINDS.map(function (k) { return [k, T["kind_" + k]]; }), kind, function (v) {
      changeKind(el, v);
    }));
    renderCommon(box, el, p);
    if (kind === "start") {
      box.appendChild(selectInput("p-level", T.start_level, levelOptions(), p.level, function (v) {
        editProps(el, function (q) { q.level = v || undefined; });
        renderPanel("p-level");
      }));
      var roles = h("fieldset", { class: "gd-roles" }, [h("legend", { text: T.start_roles })]);
      config.roles.forEach(function (r, index) {
        var rid = "p-role-" + index;
        var checked = (p.roles || []).indexOf(r.key) >= 0;
        var fits = !p.level || r.levels.indexOf(p.level) >= 0;
        roles.appendChild(h("label", { for: rid, class: "gd-inline" + (fits ? "" : " muted") }, [
          h("input", { type: "checkbox", id: rid, value: r.key, checked: checked, onchange: function (event) {
            editProps(el, function (q) {
              var list = (q.roles || []).filter(function (k) { return k !== r.key; });
              if (event.target.checked) { list.push(r.key); }
              q.roles = list;
            });
          } }), " " + r.name + " (" + r.key + ")"
        ]));
      });
      box.appendChild(roles);
      box.appendChild(renderForm(el, p));
    } else if (kind === "user_task") {
      box.appendChild(renderForm(el, p));
      box.appendChild(selectInput("p-level", T.level, levelOptions(), p.level, function (v) {
        editProps(el, function (q) { q.level = v || undefined; });
        renderPanel("p-level");
      }, T.level_help));
      box.appendChild(selectInput("p-role", T.role, roleOptions(p.level), p.role, function (v) {
        editProps(el, function (q) { q.role = v || undefined; });
      }));
      box.appendChild(durationInput("p-due", T.due, p.due, el.id, function (value) {
        editProps(el, function (q) { q.due = value || undefined; });
      }));
      renderBoundaryList(box, el);
    } else if (kind === "service_task") {
      renderService(box, el, p);
    } else if (kind === "exclusive") {
      renderGateway(box, el);
    } else if (kind === "parallel_split" || kind === "parallel_join") {
      box.appendChild(h("p", { class: "muted", text: kind === "parallel_split" ? T.split_help : T.join_help }));
    } else if (kind === "timer") {
      box.appendChild(durationInput("p-wait", T.wait, readTimer(el, "wait"), el.id, function (value) {
        writeTimer(el, "wait", value);
      }));
    } else if (kind === "end") {
      box.appendChild(textInput("p-outcome", T.outcome, p.outcome, function (v) { setOutcome(el, v.trim()); },
        { spellcheck: "false" }, T.outcome_help));
    }
  }

  function renderForm(el, p) {
    var wrap = h("div", { class: "gd-form-ref" });
    wrap.appendChild(selectInput("p-form", T.form, formOptions(), p.form, function (v) {
      editProps(el, function (q) { q.form = v || undefined; });
      renderPanel("p-form");
    }));
    var links = h("div", { class: "gd-links" });
    if (p.form) {
      links.appendChild(h("a", { href: config.formUrl.replace("__key__", p.form), target: "_blank", text: T.open_form }));
      links.appendChild(document.createTextNode(" "));
    }
    links.appendChild(h("a", { href: config.newFormUrl + "?key=" + encodeURIComponent(config.key + "_" + el.id), target: "_blank", text: T.new_form }));
    wrap.appendChild(links);
    return wrap;
  }

  function setOutcome(el, outcome) {
    editProps(el, function (q) { q.outcome = outcome || undefined; });
    // A terminate end ends the whole case; draw it so (and a plain end when there is no outcome).
    var bo = el.businessObject;
    var terminate = (bo.eventDefinitions || []).some(function (d) { return d.$type === "bpmn:TerminateEventDefinition"; });
    panelChange(function () {
      if (outcome && !terminate) {
        modeling.updateProperties(el, { eventDefinitions: [moddle.create("bpmn:TerminateEventDefinition")] });
      } else if (!outcome && terminate) {
        modeling.updateProperties(el, { eventDefinitions: [] });
      }
    });
  }

  function renderService(box, el, p) {
    var set = (p.set || []).slice();
    var rows = h("fieldset", { class: "gd-set" }, [h("legend", { text: T.assignments })]);
    set.forEach(function (item, index) {
      var base = "p-set-" + index;
      rows.appendChild(h("div", { class: "gd-set-row" }, [
        textInput(base + "-var", T.variable, item.var, function (v) {
          editProps(el, function (q) { q.set[index].var = v.trim(); });
        }, { size: 12, spellcheck: "false" }),
        expressionInput(base + "-expr", T.expression, item.expr, el.id, function (v) {
          editProps(el, function (q) { q.set[index].expr = v; });
        }),
        h("button", { type: "button", id: base + "-remove", text: T.remove, onclick: function () {
          editProps(el, function (q) { q.set.splice(index, 1); });
          renderPanel();
        } })
      ]));
    });
    rows.appendChild(h("button", { type: "button", id: "p-set-add", text: T.add_assignment, onclick: function () {
      editProps(el, function (q) { q.set = (q.set || []).concat([{ var: "value_" + ((q.set || []).length + 1), expr: "0" }]); });
      renderPanel("p-set-" + set.length + "-var");
    } }));
    box.appendChild(rows);
    var number = p.number || {};
    var numbers = h("fieldset", { class: "gd-number" }, [h("legend", { text: T.number })]);
    function setNumber(name, value) {
      editProps(el, function (q) {
        var n = Object.assign({}, q.number || {});
        if (value) { n[name] = value; } else { delete n[name]; }
        q.number = Object.keys(n).length ? n : undefined;
      });
    }
    numbers.appendChild(textInput("p-number-var", T.number_var, number.var, function (v) { setNumber("var", v.trim()); }, { spellcheck: "false" }));
    numbers.appendChild(textInput("p-number-seq", T.number_sequence, number.sequence, function (v) { setNumber("sequence", v.trim()); }, { spellcheck: "false" }));
    numbers.appendChild(textInput("p-number-format", T.number_format, number.format, function (v) { setNumber("format", v.trim()); },
      { spellcheck: "false" }, T.number_format_help));
    box.appendChild(numbers);
    box.appendChild(textInput("p-documents", T.documents, (p.documents || []).join(", "), function (v) {
      var list = v.split(",").map(function (x) { return x.trim(); }).filter(Boolean);
      editProps(el, function (q) { q.documents = list.length ? list : undefined; });
    }, { spellcheck: "false" }, T.documents_help));
  }

  function renderGateway(box, el) {
    var outgoing = (el.outgoing || []).filter(function (c) { return c.type === "bpmn:SequenceFlow"; });
    var def = el.businessObject.default;
    box.appendChild(selectInput("p-default", T.default_flow, [["", T.none]].concat(outgoing.map(function (c) {
      return [c.id, flowLabel(c)];
    })), def ? def.id : "", function (v) {
      var flow = outgoing.filter(function (c) { return c.id === v; })[0];
      panelChange(function () { modeling.updateProperties(el, { default: flow ? flow.businessObject : undefined }); });
      renderPanel("p-default");
    }, T.default_help));
    var list = h("fieldset", { class: "gd-conditions" }, [h("legend", { text: T.conditions })]);
    outgoing.forEach(function (c, index) {
      if (def && def.id === c.id) {
        list.appendChild(h("p", {}, [h("strong", { text: flowLabel(c) }), " " + T.is_default]));
        return;
      }
      var condition = c.businessObject.conditionExpression;
      list.appendChild(expressionInput("p-cond-" + index, flowLabel(c), condition ? condition.body : "", el.id, function (v) {
        setCondition(c, v);
      }));
    });
    if (!outgoing.length) { list.appendChild(h("p", { class: "muted", text: T.no_outgoing })); }
    box.appendChild(list);
  }

  function flowLabel(connection) {
    var target = connection.target;
    var name = (connection.businessObject.name ? connection.businessObject.name + " · " : "");
    return name + "→ " + ((target && target.businessObject.name) || (target && target.id) || "?");
  }

  function setCondition(connection, text) {
    panelChange(function () {
      modeling.updateProperties(connection, { conditionExpression: text ? formal(text) : undefined });
    });
  }

  function renderEdge(box, el, p) {
    var source = el.source;
    box.appendChild(h("p", { class: "muted", text: ((source && (source.businessObject.name || source.id)) || "?") + " " + flowLabel(el) }));
    box.appendChild(textInput("p-label-zh", T.label_zh, nameOf(el), function (v) { setName(el, v.trim()); }));
    box.appendChild(textInput("p-label-en", T.label_en, (p.label || {}).en, function (v) {
      editProps(el, function (q) {
        var label = Object.assign({}, q.label || {});
        if (v.trim()) { label.en = v.trim(); } else { delete label.en; }
        q.label = label;
      });
    }));
    if (source && kindOf(source) === "exclusive") {
      var isDefault = source.businessObject.default === el.businessObject;
      box.appendChild(h("div", { class: "gd-field" }, [h("label", { for: "p-default-flow", class: "gd-inline" }, [
        h("input", { type: "checkbox", id: "p-default-flow", checked: isDefault, onchange: function (event) {
          panelChange(function () {
            modeling.updateProperties(source, { default: event.target.checked ? el.businessObject : undefined });
            if (event.target.checked) { modeling.updateProperties(el, { conditionExpression: undefined }); }
          });
          renderPanel("p-default-flow");
        } }), " " + T.default_flow_check
      ])]));
      if (!isDefault) {
        var condition = el.businessObject.conditionExpression;
        box.appendChild(expressionInput("p-condition", T.condition, condition ? condition.body : "", source.id, function (v) {
          setCondition(el, v);
        }, T.condition_help));
      }
    } else {
      box.appendChild(h("p", { class: "muted", text: T.edge_plain }));
    }
  }

  function renderBoundaryList(box, el) {
    var list = h("fieldset", { class: "gd-boundaries" }, [h("legend", { text: T.timeouts })]);
    (el.attachers || []).forEach(function (b) {
      var action = props(b).action || "";
      list.appendChild(h("div", {}, [h("button", { type: "button", class: "link", text: (b.businessObject.name || b.id) + " · " + (T["action_" + action] || action || "?"), onclick: function () {
        selection.select(b);
      } })]));
    });
    list.appendChild(h("button", { type: "button", id: "p-add-timeout", text: T.add_timeout, onclick: function () {
      var count = (el.attachers || []).length;
      var shape = elementFactory.createShape({ type: "bpmn:BoundaryEvent", eventDefinitionType: "bpmn:TimerEventDefinition" });
      var created;
      panelChange(function () {
        created = modeling.createShape(shape, { x: el.x + 20 + count * 40, y: el.y + el.height }, el, { attach: true });
        modeling.updateProperties(created, { cancelActivity: false });
      });
      editProps(created, function (q) { q.action = "remind"; });
      writeTimer(created, "after", { days: 3 });
      selection.select(created);
    } }));
    box.appendChild(list);
  }

  function renderBoundary(box, el, p) {
    var host = el.host;
    box.appendChild(h("p", { class: "muted", text: fmt(T.boundary_of, { task: host ? (host.businessObject.name || host.id) : "?" }) }));
    renderCommon(box, el, p);
    if (!timerDefinition(el)) {
      box.appendChild(h("p", { class: "error-message", text: T.boundary_not_timer }));
      box.appendChild(h("button", { type: "button", text: T.make_timer, onclick: function () {
        var replaced = bpmnReplace.replaceElement(el, { type: "bpmn:BoundaryEvent", eventDefinitionType: "bpmn:TimerEventDefinition" });
        selection.select(replaced);
      } }));
      return;
    }
    box.appendChild(selectInput("p-action", T.action, [["", T.none], ["remind", T.action_remind], ["escalate", T.action_escalate], ["path", T.action_path]],
      p.action, function (v) {
        editProps(el, function (q) {
          q.action = v || undefined;
          if (v !== "escalate") { delete q.role; }
          if (v !== "path") { delete q.interrupting; }
        });
        if (v !== "path") { panelChange(function () { modeling.updateProperties(el, { cancelActivity: false }); }); }
        renderPanel("p-action");
      }, T.action_help));
    box.appendChild(durationInput("p-after", T.after, readTimer(el, "after"), host ? host.id : "", function (value) {
      writeTimer(el, "after", value);
    }));
    if (p.action === "escalate") {
      box.appendChild(selectInput("p-escalate-role", T.escalate_role, roleOptions(""), p.role, function (v) {
        editProps(el, function (q) { q.role = v || undefined; });
      }, T.escalate_help));
    }
    if (p.action === "path") {
      var value = p.interrupting === true ? "true" : (p.interrupting === false ? "false" : "");
      box.appendChild(selectInput("p-interrupting", T.interrupting, [["", T.interrupting_default], ["true", T.interrupting_yes], ["false", T.interrupting_no]],
        value, function (v) {
          editProps(el, function (q) { q.interrupting = v === "" ? undefined : v === "true"; });
          panelChange(function () { modeling.updateProperties(el, { cancelActivity: v !== "false" }); });
        }, T.path_help));
    }
  }

  function renderProcess(box, el, p) {
    box.appendChild(h("p", {}, [T.process_key + " ", h("code", { text: config.key })]));
    box.appendChild(textInput("p-title-zh", T.procedure_zh, nameOf(el), function (v) { setName(el, v.trim()); }));
    box.appendChild(textInput("p-title-en", T.procedure_en, (p.title || {}).en, function (v) {
      editProps(el, function (q) {
        var title = Object.assign({}, q.title || {});
        if (v.trim()) { title.en = v.trim(); } else { delete title.en; }
        q.title = title;
      });
    }));
    box.appendChild(textInput("p-code", T.code, p.code, function (v) {
      editProps(el, function (q) { q.code = v.trim() || undefined; });
    }, { size: 8, spellcheck: "false" }, T.code_help));
    var description = h("textarea", { id: "p-description", rows: 3 });
    description.value = p.description || "";
    description.addEventListener("change", function () {
      editProps(el, function (q) { q.description = description.value.trim() || undefined; });
    });
    box.appendChild(field("p-description", T.description, description));
    var summary = p.summary || {};
    ["applicant", "id_card"].forEach(function (name) {
      box.appendChild(expressionInput("p-summary-" + name, T["summary_" + name], summary[name], "", function (v) {
        editProps(el, function (q) {
          var s = Object.assign({}, q.summary || {});
          if (v) { s[name] = v; } else { delete s[name]; }
          q.summary = s;
        });
      }, T.summary_help));
    });
    var settings = h("textarea", { id: "p-settings", rows: 4, class: "gd-code", spellcheck: "false" });
    settings.value = JSON.stringify(p.settings || {}, null, 2);
    settings.addEventListener("change", function () {
      try {
        var value = settings.value.trim() ? JSON.parse(settings.value) : {};
        if (typeof value !== "object" || Array.isArray(value) || value === null) { throw new Error(T.json_object); }
        editProps(el, function (q) { q.settings = value; });
        $("p-settings-status").textContent = "";
      } catch (err) {
        $("p-settings-status").textContent = T.bad_json + " " + err.message;
      }
    });
    box.appendChild(field("p-settings", T.settings, settings, T.settings_help));
    box.appendChild(h("div", { class: "error-message", id: "p-settings-status", role: "alert" }));
  }

  function changeKind(el, kind) {
    var target = KIND_TARGETS[kind];
    var replaced = el;
    var currentKind = kindOf(el);
    var sameType = (currentKind === "parallel_split" || currentKind === "parallel_join") && target.type === "bpmn:ParallelGateway";
    if (!sameType) {
      replaced = bpmnReplace.replaceElement(el, target);
    }
    if (kind === "parallel_split" || kind === "parallel_join") {
      panelChange(function () {
        modeling.updateProperties(replaced, { gatewayDirection: kind === "parallel_split" ? "Diverging" : "Converging" });
      });
    }
    selection.select(replaced);
    current = replaced;
    renderPanel("p-kind");
  }

  // ---------------------------------------------------------------------------------------------------
  // element chooser, errors, load and save

  function selectable(el) {
    return el.type !== "label" && el.businessObject && el.businessObject.$instanceOf &&
      (el.businessObject.$instanceOf("bpmn:FlowElement") || isRoot(el));
  }

  function refreshElements() {
    if (loading || !canvas.getRootElement().businessObject) { return; }
    var select = $("gd-element");
    var value = select.value;
    select.textContent = "";
    var root = canvas.getRootElement();
    select.appendChild(h("option", { value: root.id, text: T.process_properties }));
    registry.filter(function (el) { return selectable(el) && !isRoot(el); }).forEach(function (el) {
      var kind = kindOf(el);
      var name = el.businessObject.name || "";
      var marker = elementErrors(el).length ? " ⚠" : "";
      select.appendChild(h("option", { value: el.id, text: (T["kind_" + kind] || kind) + "：" + (name ? name + " (" + el.id + ")" : el.id) + marker }));
    });
    select.value = current ? current.id : value;
  }

  $("gd-element").addEventListener("change", function (event) {
    var el = registry.get(event.target.value);
    if (!el) { return; }
    if (isRoot(el)) { selection.select(null); current = el; renderPanel(); }
    else { selection.select(el); canvas.scrollToElement(el); }
  });

  function showErrors() {
    registry.forEach(function (el) { canvas.removeMarker(el, "gd-invalid"); });
    errors.forEach(function (e) {
      var el = e.element && registry.get(e.element);
      if (el) { canvas.addMarker(el, "gd-invalid"); }
    });
    var box = $("gd-wf-errors");
    box.textContent = "";
    if (!errors.length) {
      box.appendChild(h("p", { class: "gd-ok", text: T.no_errors }));
    } else {
      box.appendChild(h("p", { class: "error-message", text: fmt(T.errors_count, { n: errors.length }) }));
      box.appendChild(h("ul", { class: "errorlist gd-error-list" }, errors.map(function (e) {
        var item = h("li", { "data-element": e.element || "" }, [h("code", { text: e.path || "/" }), " "]);
        if (e.element) { item.appendChild(h("strong", { text: "[" + e.element + "] " })); }
        item.appendChild(document.createTextNode(e.message + " "));
        var el = e.element && registry.get(e.element);
        if (el) {
          item.appendChild(h("button", { type: "button", class: "link", text: T.locate, onclick: function () {
            selection.select(el);
            canvas.scrollToElement(el);
          } }));
        }
        return item;
      })));
    }
    refreshElements();
    renderPanel();
  }

  // The whole diagram in view, at most at 100 %, clear of the palette on the left.
  function fitView() {
    var box = canvas.viewbox();
    var inner = box.inner, outer = box.outer;
    if (!inner.width || !inner.height) { return; }
    var left = 130, pad = 40;
    var scale = Math.min(1, (outer.width - left - pad) / inner.width, (outer.height - 2 * pad) / inner.height);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - pad / scale, width: outer.width / scale, height: outer.height / scale });
  }

  function importXml(xml, keepView) {
    var view = keepView ? canvas.viewbox() : null;
    var selected = current && current.id;
    loading = true;
    return modeler.importXML(xml).then(function () {
      loading = false;
      if (view) { canvas.viewbox(view); } else { fitView(); }
      var el = selected && (registry.get(selected) || registry.get(String(selected).toLowerCase()));
      current = el || canvas.getRootElement();
      if (el && !isRoot(el)) { selection.select(el); }
      refreshElements();
      renderPanel();
    }).catch(function (err) {
      loading = false;
      $("gd-wf-errors").textContent = T.import_failed + " " + err.message;
    });
  }

  function load() {
    return fetch(config.bpmnUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        errors = data.errors || [];
        if (!data.xml) { showErrors(); return; }
        return importXml(data.xml, false).then(showErrors);
      });
  }

  function save(dryRun) {
    var state = $("gd-save-state");
    state.textContent = dryRun ? T.checking : T.saving;
    if (document.activeElement && document.activeElement.blur) { document.activeElement.blur(); }
    return modeler.saveXML({ format: true }).then(function (result) {
      return post(config.bpmnUrl, { xml: result.xml, dry_run: !!dryRun });
    }).then(function (data) {
      errors = data.errors || [];
      if (!data.ok) {
        state.textContent = data.message || T.save_failed;
        showErrors();
        return;
      }
      if (data.saved) {
        unsaved = false;
        state.textContent = fmt(errors.length ? T.saved_with_errors : T.saved, { v: data.version, n: errors.length });
        return importXml(data.xml, true).then(showErrors);
      }
      state.textContent = errors.length ? fmt(T.checked_with_errors, { n: errors.length }) : T.checked;
      showErrors();
    }).catch(function (err) { state.textContent = T.save_failed + " " + err.message; });
  }

  $("gd-save").addEventListener("click", function () { save(false); });
  $("gd-check").addEventListener("click", function () { save(true); });

  eventBus.on("selection.changed", function (event) {
    if (loading) { return; }
    var el = event.newSelection[0];
    if (el && el.type === "label") { el = el.labelTarget; }
    current = el || canvas.getRootElement();
    renderPanel();
  });
  eventBus.on("element.changed", function (event) {
    if (fromPanel || loading || !current) { return; }
    if (event.element === current) { renderPanel(); }
  });
  var refreshTimer = null;
  eventBus.on("elements.changed", function () {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refreshElements, 200);
  });
  eventBus.on("commandStack.changed", function (event) {
    if (loading || event.trigger === "clear") { return; }
    unsaved = true;
    $("gd-save-state").textContent = T.unsaved;
  });
  window.addEventListener("beforeunload", function (event) {
    if (unsaved) { event.preventDefault(); event.returnValue = ""; }
  });

  // The expression check reads the diagram as it is now (unsaved), so a form picked a moment ago counts.
  var currentXml = "";
  var xmlTimer = null;
  function refreshXml() {
    window.clearTimeout(xmlTimer);
    xmlTimer = window.setTimeout(function () {
      modeler.saveXML({ format: false }).then(function (result) { currentXml = result.xml; });
    }, 100);
  }
  eventBus.on("commandStack.changed", refreshXml);
  eventBus.on("import.done", refreshXml);
  document.body.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("#gd-props")) { event.detail.parameters.xml = currentXml; }
  });

  load();
  window.govflowDesigner = { modeler: modeler, save: save, props: props, select: function (id) {
    var el = registry.get(id);
    if (el) { selection.select(el); }
    return !!el;
  } };
})();
