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
  function readNode(node) {
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

  // A page may hold several builders (a group's include and exclude rules, its member filter):
  // each is an element with `data-builder` holding its parts (`data-builder-rows`, `-match`,
  // `-json`...). All Users' filter card names the same parts by id (`#filter-rows`...).
  var LEGACY_IDS = {
    rows: "filter-rows", match: "filter-match", json: "filter-json", fields: "filter-fields",
    operators: "filter-operators", initial: "filter-initial", empty: "filter-empty",
    advanced: "filter-advanced", errors: "filter-errors"
  };
  var builders = [];

  function Builder(root) {
    this.root = root;
    this.fields = [];
    this.byName = {};
    this.labels = {};
  }

  Builder.roots = function () {
    var roots = $all("[data-builder]");
    var legacy = document.getElementById("filter-rows");
    if (legacy && !legacy.closest("[data-builder]")) roots.push(legacy.closest(".filter-card") || document.body);
    return roots;
  };

  Builder.of = function (node) {
    var root = node && node.closest && node.closest("[data-builder]");
    if (!root && node && node.closest && document.getElementById("filter-rows")) root = node.closest(".filter-card");
    return root ? root.coterieBuilder || null : null;
  };

  Builder.initAll = function () {
    Builder.roots().forEach(function (root) {
      if (root.coterieBuilder) return;
      var builder = new Builder(root);
      root.coterieBuilder = builder;
      builders.push(builder);
      builder.init();
    });
    builders = builders.filter(function (b) { return b.root.isConnected; });
  };

  Builder.prototype = {
    part: function (name) {
      return this.root.querySelector("[data-builder-" + name + "], #" + LEGACY_IDS[name]);
    },

    shared: function (name) {
      var own = this.part(name);
      return readNode(own || document.querySelector("script[data-builder-" + name + "]"));
    },

    init: function () {
      if (!this.part("rows")) return;
      this.fields = this.shared("fields") || [];
      this.labels = this.shared("operators") || {};
      this.byName = {};
      var self = this;
      this.fields.forEach(function (f) { self.byName[f.name] = f; });
      (readNode(this.part("initial")) || []).forEach(function (condition) { self.addRow(condition); });
      this.refresh(false);
      this.showErrors();
    },

    rows: function () { return $all("[data-filter-row]", this.root); },

    fieldSelect: function (selected) {
      var select = el("select", { className: "form-select form-select-sm", "data-part": "field", "aria-label": "Field" });
      var sections = [];
      var members = {};
      this.fields.forEach(function (f) {
        var section = f.section || (f.custom ? "Custom fields" : "Profile");
        if (!members[section]) { members[section] = []; sections.push(section); }
        members[section].push(f);
      });
      sections.forEach(function (section) {
        var optgroup = el("optgroup", { label: section });
        members[section].forEach(function (f) {
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
      var optionLabel = function (opt) { return (field.option_labels && field.option_labels[opt]) || opt; };
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
            input, el("span", { className: "form-selectgroup-label", text: optionLabel(opt) })
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
          var option = el("option", { value: opt, text: optionLabel(opt) });
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

    defaultOp: function (field) {
      return field.ops.indexOf("contains") >= 0 ? "contains" : field.ops[0];
    },

    addRow: function (condition) {
      var rows = this.part("rows");
      var field = this.byName[condition && condition.field] || this.byName.full_name || this.fields[0];
      if (!rows || !field) return null;
      var op = condition && field.ops.indexOf(condition.op) >= 0 ? condition.op : this.defaultOp(field);
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
      var conditions = this.rows().map(function (row) {
        var field = self.byName[$("[data-part=field]", row).value];
        var condition = { field: field.name, op: $("[data-part=op]", row).value };
        var value = self.readValue(row, field);
        if (value !== undefined) condition.value = value;
        return condition;
      });
      if (!conditions.length) return this.part("advanced") ? this.part("json").value : "";
      var tree = {};
      tree[this.part("match").value] = conditions;
      return JSON.stringify(tree);
    },

    refresh: function (sync) {
      var match = this.part("match");
      this.rows().forEach(function (row, index) {
        $(".filter-conj", row).textContent = index === 0 ? "Where" : (match.value === "all" ? "and" : "or");
      });
      var empty = this.part("empty");
      if (empty) empty.hidden = this.rows().length > 0 || !!this.part("advanced");
      if (sync !== false) this.sync();
    },

    sync: function () {
      var hidden = this.part("json");
      if (!hidden) return;
      var before = hidden.value;
      hidden.value = this.serialize();
      hidden.disabled = hidden.value === "" && !hidden.hasAttribute("data-builder-keep-empty");
      if (hidden.value !== before) hidden.dispatchEvent(new Event("rule-change", { bubbles: true }));
    },

    showErrors: function () {
      var rows = this.rows();
      rows.forEach(function (row) {
        row.classList.remove("has-error");
        $all(".is-invalid", row).forEach(function (n) { n.classList.remove("is-invalid"); });
        $("[data-row-error]", row).textContent = "";
      });
      var errors = this.part("errors");
      if (!errors) return;
      // Builders marked `data-builder-inline-errors` show a row's error in the row itself.
      var inline = this.root.hasAttribute("data-builder-inline-errors");
      $all("[data-error-row]", errors).forEach(function (error) {
        var index = error.getAttribute("data-error-row");
        if (index === "") return;
        var row = rows[Number(index)];
        if (!row) return;
        row.classList.add("has-error");
        if (inline) {
          var label = $(".filter-error-row", error);
          $("[data-row-error]", row).textContent = error.textContent.replace(label ? label.textContent : "", "").trim();
          error.classList.add("is-inline");
        }
        var part = error.getAttribute("data-error-part") || "value";
        $all("[data-part=" + part + "], [data-part=" + part + "] input, [data-part=" + part + "] select", row)
          .forEach(function (n) { if (n.matches("input, select")) n.classList.add("is-invalid"); });
      });
    },

    clear: function () {
      this.rows().forEach(function (r) { r.remove(); });
      var advanced = this.part("advanced");
      if (advanced) advanced.remove();
      this.refresh();
    }
  };

  document.addEventListener("change", function (event) {
    var target = event.target;
    var builder = Builder.of(target);
    if (!builder) return;
    var row = target.closest("[data-filter-row]");
    if (row && target.matches("[data-part=field]")) {
      var field = builder.byName[target.value];
      var op = builder.defaultOp(field);
      row.replaceChild(builder.opSelect(field, op), $("[data-part=op]", row));
      row.replaceChild(builder.valueWidget(field, op), $("[data-part=value]", row));
    } else if (row && target.matches("[data-part=op]")) {
      var spec = builder.byName[$("[data-part=field]", row).value];
      var old = builder.readValue(row, spec);
      var keep = Array.isArray(old) || old === undefined ? undefined : old;
      row.replaceChild(builder.valueWidget(spec, target.value, keep), $("[data-part=value]", row));
    }
    if (row || target === builder.part("match")) builder.refresh();
  });

  document.addEventListener("input", function (event) {
    var row = event.target.closest && event.target.closest("[data-filter-row]");
    var builder = row && Builder.of(row);
    if (builder) builder.sync();
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    var builder = target && Builder.of(target);
    if (!builder) return;
    if (target.closest("[data-filter-add]")) {
      var advanced = builder.part("advanced");
      if (advanced) advanced.remove();
      var row = builder.addRow(null);
      builder.refresh();
      if (row) $("[data-part=field]", row).focus();
      return;
    }
    var remove = target.closest("[data-filter-remove]");
    if (remove) {
      remove.closest("[data-filter-row]").remove();
      builder.refresh();
      return;
    }
    if (target.closest("[data-filter-clear]")) {
      builder.clear();
      var form = builder.root.hasAttribute("data-builder") ? builder.root.closest("form") : document.getElementById("filter-form");
      if (form && (form.id === "filter-form" || builder.root.hasAttribute("data-builder-autosubmit"))) form.requestSubmit();
    }
  });

  // Capture phase: runs before htmx reads the form, so the request carries the current rules.
  document.addEventListener("submit", function (event) {
    builders.forEach(function (b) {
      if (event.target.contains(b.root) || b.root.contains(event.target)) b.sync();
    });
  }, true);

  document.addEventListener("htmx:afterSettle", function () {
    Builder.initAll();
    builders.forEach(function (b) { b.showErrors(); });
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) return;
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
    Builder.initAll();
    RepeatRows.refresh();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

/* People picker (User Groups): search the directory with htmx, pick people into a list whose
 * hidden inputs post with the form. Picking or removing fires `picker-change`, which the live
 * count of a rule listens to.
 */
(function () {
  "use strict";

  function chosenIds(picker) {
    return Array.prototype.map.call(picker.querySelectorAll("[data-picker-chip]"), function (chip) {
      return chip.getAttribute("data-picker-chip");
    });
  }

  function refresh(picker) {
    var ids = chosenIds(picker);
    var empty = picker.querySelector("[data-picker-empty]");
    if (empty) empty.hidden = ids.length > 0;
    picker.querySelectorAll("[data-pick-id]").forEach(function (result) {
      var taken = ids.indexOf(result.getAttribute("data-pick-id")) >= 0;
      var button = result.querySelector("[data-pick]");
      result.classList.toggle("picked", taken);
      if (button) {
        button.disabled = taken;
        button.textContent = taken ? "Added" : "Add";
      }
    });
  }

  function changed(picker) {
    refresh(picker);
    picker.dispatchEvent(new Event("picker-change", { bubbles: true }));
  }

  function pick(picker, result) {
    var id = result.getAttribute("data-pick-id");
    if (chosenIds(picker).indexOf(id) >= 0) return;
    var chip = document.createElement("span");
    chip.className = "picker-chip htmx-added";
    chip.setAttribute("data-picker-chip", id);
    chip.appendChild(result.querySelector(".picker-person").cloneNode(true));
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = picker.getAttribute("data-picker");
    input.value = id;
    chip.appendChild(input);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn-close";
    remove.setAttribute("data-picker-remove", "");
    var name = result.querySelector(".user-name");
    remove.setAttribute("aria-label", "Remove " + (name ? name.textContent : "this person"));
    chip.appendChild(remove);
    picker.querySelector("[data-picker-chosen]").appendChild(chip);
    changed(picker);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    var picker = target && target.closest("[data-picker]");
    if (!picker) return;
    var button = target.closest("[data-pick]");
    if (button) {
      pick(picker, button.closest("[data-pick-id]"));
      return;
    }
    var remove = target.closest("[data-picker-remove]");
    if (remove) {
      remove.closest("[data-picker-chip]").remove();
      changed(picker);
    }
  });

  // Enter in the search box searches; it must not submit the form the picker sits in.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-picker-search]")) {
      event.preventDefault();
    }
  });

  function refreshAll() { document.querySelectorAll("[data-picker]").forEach(refresh); }
  document.addEventListener("htmx:afterSettle", refreshAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", refreshAll);
  else refreshAll();
})();

/* Import wizard: the file drop zone. Dropping a file puts it in the form's file input; the
 * chosen file is named with its size, and one over the workspace's limit is refused here, before
 * a byte is sent (the server refuses it too, by its declared size, before reading it).
 */
(function () {
  "use strict";

  function size(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var amount = bytes;
    for (var i = 0; i < units.length; i++) {
      if (amount < 1024 || i === units.length - 1) {
        return i === 0 ? amount + " bytes" : amount.toFixed(1).replace(/\.0$/, "") + " " + units[i];
      }
      amount /= 1024;
    }
    return bytes + " bytes";
  }

  function show(input) {
    var zone = input.closest("[data-dropzone]");
    var form = input.form;
    var error = form.querySelector("[data-drop-error]");
    var submit = form.querySelector("[data-upload-submit]");
    var file = input.files && input.files[0];
    var limit = Number(input.getAttribute("data-max-bytes")) || 0;
    var problem = file && limit && file.size > limit
      ? file.name + " is " + size(file.size) + "; files are limited to " + size(limit) + "."
      : "";
    zone.classList.toggle("has-file", !!file && !problem);
    zone.classList.toggle("has-error", !!problem);
    zone.querySelector("[data-drop-title]").textContent = file ? file.name : "Drag your file here, or browse";
    zone.querySelector("[data-drop-hint]").textContent = file
      ? size(file.size) + " · click or drop another file to replace it"
      : zone.querySelector("[data-drop-hint]").getAttribute("data-empty");
    if (error) {
      error.hidden = !problem;
      error.querySelector("[data-drop-error-text]").textContent = problem;
    }
    if (submit) submit.disabled = !file || !!problem;
  }

  function init() {
    document.querySelectorAll("[data-import-file]").forEach(function (input) {
      var hint = input.closest("[data-dropzone]").querySelector("[data-drop-hint]");
      if (!hint.hasAttribute("data-empty")) hint.setAttribute("data-empty", hint.textContent);
      var submit = input.form.querySelector("[data-upload-submit]");
      if (submit && !(input.files && input.files.length)) submit.disabled = true;
      else if (input.files && input.files.length) show(input);
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-import-file]")) show(event.target);
  });

  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("is-dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) return;
      zone.classList.remove("is-dragging");
      if (name !== "drop") return;
      event.preventDefault();
      var input = zone.querySelector("[data-import-file]");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
