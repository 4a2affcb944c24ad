/* Helpers shared by the form builder and the workflow designer: element building, message formatting
   and JSON POSTs with Django's CSRF token. Loaded before either script. No build step. */
(function () {
  "use strict";

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) { return; }
      if (name === "text") { el.textContent = value; }
      else if (name === "class") { el.className = value; }
      else if (name.slice(0, 2) === "on") { el.addEventListener(name.slice(2), value); }
      else if (name === "value") { el.value = value; }
      else if (name === "checked") { el.checked = true; }
      else { el.setAttribute(name, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) { return; }
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  }

  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_m, name) { return values[name]; });
  }

  function csrf() {
    var el = document.querySelector("[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { data._status = response.status; return data; });
    });
  }

  window.GovflowDesigner = { h: h, fmt: fmt, csrf: csrf, post: post };
})();
