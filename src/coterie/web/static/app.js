/* Coterie admin UI: the filter builder and the repeatable rows of the profile form.
 *
 * Everything else is plain HTML and htmx. The filter builder keeps its state in the DOM and
 * writes the JSON rule tree ({"all": [{"field", "op", "value"}]}) into the hidden `filter`
 * input whenever it changes, so a plain GET of the form carries the whole filter.
 */
(function () {
  "use strict";

  var NO_VALUE = { is_set: true, is_not_set: true };
  var LIST_OPS = { in: true, not_in: true, any: true, all: true };
  var DAY_OPS = { within_last: true, not_within_last: true };
  var NUMBER_TYPES = { number: true, integer: true };
  var DATE_TYPES = { date: true, datetime: true };

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function icon(name) {
    var existing = document.querySelector("use[href*='sprite.svg']");
    var sprite = existing ? existing.getAttribute("href").split("#")[0] : "/static/vendor/tabler-icons/sprite.svg";
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", sprite + "#" + name);
    svg.appendChild(use);
    return svg;
  }

  /* ---------------------------------------------------------------- filter builder */

  var Builder = {
    fields: [],
    byName: {},
    labels: {},

    init: function () {
      var rows = document.getElementById("filter-rows");
      if (!rows) return;
      this.fields = readJSON("filter-fields") || [];
      this.labels = readJSON("filter-operators") || {};
      this.byName = {};
      var self = this;
      this.fields.forEach(function (f) { self.byName[f.name] = f; });
      (readJSON("filter-initial") || []).forEach(function (condition) { self.addRow(condition); });
      this.refresh(false);
      this.showErrors();
    },

    fieldSelect: function (selected) {
      var select = el("select", { className: "form-select form-select-sm", "data-part": "field", "aria-label": "Field" });
      var groups = [["Profile", false], ["Custom fields", true]];
      var self = this;
      groups.forEach(function (group) {
        var members = self.fields.filter(function (f) { return !!f.custom === group[1]; });
        if (!members.length) return;
        var optgroup = el("optgroup", { label: group[0] });
        members.forEach(function (f) {
          var option = el("option", { value: f.name, text: f.label });
          if (f.name === selected) option.selected = true;
          optgroup.appendChild(option);
        });
        select.appendChild(optgroup);
      });
      return select;
    },

    opSelect: function (field, selected) {
      var select = el("select", { className: "form-select form-select-sm", "data-part": "op", "aria-label": "Operator" });
      var self = this;
      field.ops.forEach(function (op) {
        var option = el("option", { value: op, text: self.labels[op] || op });
        if (op === selected) option.selected = true;
        select.appendChild(option);
      });
      return select;
    },

    input: function (field, value, extra) {
      var type = "text";
      if (NUMBER_TYPES[field.type]) type = "number";
      else if (DATE_TYPES[field.type]) type = "date";
      var attrs = { className: "form-control form-control-sm", type: type, "aria-label": "Value" };
      if (field.type === "integer") attrs.step = "1";
      if (field.type === "number") attrs.step = "any";
      Object.keys(extra || {}).forEach(function (k) { attrs[k] = extra[k]; });
      var node = el("input", attrs);
      if (value !== undefined && value !== null) node.value = String(value);
      return node;
    },

    valueWidget: function (field, op, value) {
      var box = el("div", { className: "filter-value", "data-part": "value" });
      box.dataset.kind = "none";
      if (NO_VALUE[op]) return box;
      var options = field.options || [];
      if (field.type === "boolean") {
        var select = el("select", { className: "form-select form-select-sm", "aria-label": "Value" });
        [["true", "Yes"], ["false", "No"]].forEach(function (pair) {
          var option = el("option", { value: pair[0], text: pair[1] });
          if (String(value) === pair[0]) option.selected = true;
          select.appendChild(option);
        });
        box.dataset.kind = "boolean";
        box.appendChild(select);
      } else if (LIST_OPS[op] && options.length) {
        var chosen = Array.isArray(value) ? value.map(String) : [];
        var group = el("div", { className: "form-selectgroup form-selectgroup-pills" });
        options.forEach(function (opt) {
          var input = el("input", { type: "checkbox", className: "form-selectgroup-input", value: opt });
          if (chosen.indexOf(opt) >= 0) input.checked = true;
          group.appendChild(el("label", { className: "form-selectgroup-item" }, [
            input, el("span", { className: "form-selectgroup-label", text: opt })
          ]));
        });
        box.dataset.kind = "options";
        box.appendChild(group);
      } else if (LIST_OPS[op]) {
        box.dataset.kind = "list";
        box.appendChild(this.input({ type: "text" }, Array.isArray(value) ? value.join(", ") : value,
          { placeholder: "values, separated by commas" }));
      } else if (options.length) {
        var choice = el("select", { className: "form-select form-select-sm", "aria-label": "Value" });
        options.forEach(function (opt) {
          var option = el("option", { value: opt, text: opt });
          if (opt === value) option.selected = true;
          choice.appendChild(option);
        });
        box.dataset.kind = "text";
        box.appendChild(choice);
      } else if (op === "between") {
        var pair = Array.isArray(value) ? value : [];
        box.dataset.kind = "between";
        box.appendChild(this.input(field, pair[0], { "aria-label": "From" }));
        box.appendChild(el("span", { className: "text-secondary", text: "and" }));
        box.appendChild(this.input(field, pair[1], { "aria-label": "To" }));
      } else if (DAY_OPS[op]) {
        box.dataset.kind = "days";
        box.appendChild(this.input({ type: "integer" }, value, { min: "1", step: "1", placeholder: "30" }));
        box.appendChild(el("span", { className: "text-secondary", text: "days" }));
      } else {
        box.dataset.kind = NUMBER_TYPES[field.type] ? "number" : "text";
        box.appendChild(this.input(field, value));
      }
      return box;
    },

    addRow: function (condition) {
      var rows = document.getElementById("filter-rows");
      var field = this.byName[condition && condition.field] || this.byName.full_name || this.fields[0];
      if (!field) return;
      var op = condition && field.ops.indexOf(condition.op) >= 0 ? condition.op
        : (field.ops.indexOf("contains") >= 0 ? "contains" : field.ops[0]);
      var remove = el("button", { type: "button", className: "btn btn-icon btn-sm btn-ghost-danger", "data-filter-remove": "", "aria-label": "Remove condition", title: "Remove condition" }, [icon("x")]);
      var row = el("div", { className: "filter-row", "data-filter-row": "" }, [
        el("span", { className: "filter-conj" }),
        this.fieldSelect(field.name),
        this.opSelect(field, op),
        this.valueWidget(field, op, condition ? condition.value : undefined),
        remove,
        el("div", { className: "filter-row-error", "data-row-error": "" })
      ]);
      rows.appendChild(row);
      return row;
    },

    readValue: function (row, field) {
      var box = $("[data-part=value]", row);
      var kind = box.dataset.kind;
      var inputs = $all("input, select", box);
      var number = function (text) {
        var trimmed = String(text).trim();
        return trimmed !== "" && isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
      };
      var typed = function (text) { return NUMBER_TYPES[field.type] ? number(text) : text; };
      if (kind === "none") return undefined;
      if (kind === "boolean") return inputs[0].value === "true";
      if (kind === "options") return inputs.filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
      if (kind === "list") {
        return inputs[0].value.split(",").map(function (s) { return s.trim(); })
          .filter(function (s) { return s !== ""; }).map(typed);
      }
      if (kind === "between") return [typed(inputs[0].value), typed(inputs[1].value)];
      if (kind === "days") return number(inputs[0].value);
      return typed(inputs[0].value);
    },

    serialize: function () {
      var self = this;
      var conditions = $all("[data-filter-row]").map(function (row) {
        var field = self.byName[$("[data-part=field]", row).value];
        var condition = { field: field.name, op: $("[data-part=op]", row).value };
        var value = self.readValue(row, field);
        if (value !== undefined) condition.value = value;
        return condition;
      });
      if (!conditions.length) {
        var advanced = document.getElementById("filter-advanced");
        return advanced ? document.getElementById("filter-json").value : "";
      }
      var tree = {};
      tree[$("#filter-match").value] = conditions;
      return JSON.stringify(tree);
    },

    refresh: function (sync) {
      var rows = $all("[data-filter-row]");
      var match = $("#filter-match");
      rows.forEach(function (row, index) {
        $(".filter-conj", row).textContent = index === 0 ? "Where" : (match.value === "all" ? "and" : "or");
      });
      var empty = document.getElementById("filter-empty");
      var advanced = document.getElementById("filter-advanced");
      if (empty) empty.hidden = rows.length > 0 || !!advanced;
      if (sync !== false) this.sync();
    },

    sync: function () {
      var hidden = document.getElementById("filter-json");
      if (!hidden) return;
      hidden.value = this.serialize();
      hidden.disabled = hidden.value === "";
    },

    showErrors: function () {
      $all("[data-filter-row]").forEach(function (row) {
        row.classList.remove("has-error");
        $all(".is-invalid", row).forEach(function (n) { n.classList.remove("is-invalid"); });
        $("[data-row-error]", row).textContent = "";
      });
      var rows = $all("[data-filter-row]");
      $all("#filter-errors [data-error-row]").forEach(function (error) {
        var index = error.getAttribute("data-error-row");
        if (index === "") return;
        var row = rows[Number(index)];
        if (!row) return;
        row.classList.add("has-error");
        var part = error.getAttribute("data-error-part") || "value";
        $all("[data-part=" + part + "], [data-part=" + part + "] input, [data-part=" + part + "] select", row)
          .forEach(function (n) { if (n.matches("input, select")) n.classList.add("is-invalid"); });
      });
    }
  };

  document.addEventListener("change", function (event) {
    var target = event.target;
    var row = target.closest && target.closest("[data-filter-row]");
    if (row && target.matches("[data-part=field]")) {
      var field = Builder.byName[target.value];
      var op = field.ops.indexOf("contains") >= 0 ? "contains" : field.ops[0];
      row.replaceChild(Builder.opSelect(field, op), $("[data-part=op]", row));
      row.replaceChild(Builder.valueWidget(field, op), $("[data-part=value]", row));
    } else if (row && target.matches("[data-part=op]")) {
      var spec = Builder.byName[$("[data-part=field]", row).value];
      var old = Builder.readValue(row, spec);
      var keep = Array.isArray(old) || old === undefined ? undefined : old;
      row.replaceChild(Builder.valueWidget(spec, target.value, keep), $("[data-part=value]", row));
    }
    if (row || target.id === "filter-match") Builder.refresh();
  });

  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("[data-filter-row]")) Builder.sync();
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) return;
    var add = target.closest("[data-filter-add]");
    if (add) {
      var advanced = document.getElementById("filter-advanced");
      if (advanced) advanced.remove();
      var row = Builder.addRow(null);
      Builder.refresh();
      if (row) $("[data-part=field]", row).focus();
      return;
    }
    var remove = target.closest("[data-filter-remove]");
    if (remove) {
      remove.closest("[data-filter-row]").remove();
      Builder.refresh();
      return;
    }
    if (target.closest("[data-filter-clear]")) {
      $all("[data-filter-row]").forEach(function (r) { r.remove(); });
      var adv = document.getElementById("filter-advanced");
      if (adv) adv.remove();
      Builder.refresh();
      document.getElementById("filter-form").requestSubmit();
      return;
    }
    var addRow = target.closest("[data-add-row]");
    if (addRow) {
      RepeatRows.add(addRow.getAttribute("data-add-row"));
      return;
    }
    var removeRow = target.closest("[data-remove-row]");
    if (removeRow) {
      removeRow.closest(".repeat-row").remove();
      RepeatRows.refresh();
    }
  });

  // Capture phase: runs before htmx reads the form, so the request carries the current filter.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "filter-form") Builder.sync();
  }, true);

  document.addEventListener("htmx:afterSettle", function () { Builder.showErrors(); });

  /* ---------------------------------------------------------------- profile form rows */

  var RepeatRows = {
    add: function (kind) {
      var template = document.getElementById(kind + "-template");
      var target = document.getElementById(kind + "-rows");
      if (!template || !target) return;
      var row = template.content.firstElementChild.cloneNode(true);
      target.appendChild(row);
      if (kind === "contact") {
        var used = $all("#contact-rows .contact-kind").map(function (s) { return s.value; });
        var select = $(".contact-kind", row);
        var free = $all("option", select).filter(function (o) { return used.indexOf(o.value) < 0; })[0];
        if (free) select.value = free.value;
        RepeatRows.placeholder(select);
      }
      var input = $("input", row);
      if (input) input.focus();
      RepeatRows.refresh();
    },
    placeholder: function (select) {
      var option = select.options[select.selectedIndex];
      var input = $(".contact-value", select.closest(".contact-row"));
      if (option && input) input.placeholder = option.getAttribute("data-placeholder") || "";
    },
    refresh: function () {
      var button = $("[data-add-row=contact]");
      var rows = $all("#contact-rows .contact-row");
      if (button) button.hidden = rows.length >= 5;
    }
  };

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches(".contact-kind")) RepeatRows.placeholder(event.target);
  });

  function ready() {
    Builder.init();
    RepeatRows.refresh();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
