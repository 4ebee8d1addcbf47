// A browsable view of /openapi.json, with a form per GET endpoint to try it (no CDN, no HTML
// from data: every string goes through textContent).
"use strict";

function schemaText(schema) {
  if (!schema) return "";
  const parts = [schema.type === undefined ? "" : [].concat(schema.type).join("|")];
  if (schema.enum) parts.push("one of " + schema.enum.join(", "));
  if (schema.minimum !== undefined) parts.push("≥ " + schema.minimum);
  if (schema.exclusiveMinimum !== undefined) parts.push("> " + schema.exclusiveMinimum);
  if (schema.maximum !== undefined) parts.push("≤ " + schema.maximum);
  if (schema.default !== undefined) parts.push("default " + JSON.stringify(schema.default));
  if (schema.description) parts.push(schema.description);
  return parts.filter(Boolean).join("; ");
}

function tryForm(path, op) {
  const form = el("form", { class: "try" });
  const inputs = [];
  for (const p of op.parameters || []) {
    const id = `${op.operationId}-${p.name}`;
    const input = el("input", { id, name: p.name, placeholder: p.required ? "required" : "" });
    inputs.push([p, input]);
    form.append(el("label", { for: id }, p.name), input);
  }
  const out = el("pre", { class: "answer" });
  form.append(el("button", { type: "submit" }, "Send GET"), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [p, input] of inputs) {
      if (!input.value) continue;
      if (p.schema && p.schema.type === "array") input.value.split(",").forEach((v) => q.append(p.name, v.trim()));
      else q.set(p.name, input.value);
    }
    const url = path + (q.toString() ? "?" + q.toString() : "");
    out.textContent = "GET " + url + " …";
    try {
      const res = await fetch(url);
      const body = await res.json();
      out.textContent = `GET ${url}\n${res.status} ${res.statusText}\n\n` + JSON.stringify(body, null, 2);
    } catch (e) {
      out.textContent = "GET " + url + "\n" + e.message;
    }
  });
  return form;
}

async function main() {
  const main = document.getElementById("api");
  let spec;
  try {
    spec = await (await fetch("/openapi.json")).json();
  } catch (e) {
    document.getElementById("api-status").textContent = "Cannot load /openapi.json: " + e.message;
    return;
  }
  main.replaceChildren(el("p", null, spec.info.description));
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const sec = el("section", { class: "endpoint", id: op.operationId },
        el("h2", null, el("code", null, method.toUpperCase() + " " + path), " — " + op.summary));
      if (op.description) sec.append(el("p", null, op.description));
      if (op.security) sec.append(el("p", { class: "meta" }, "Needs --allow-writes and Authorization: Bearer TOKEN."));
      if ((op.parameters || []).length) {
        const rows = op.parameters.map((p) => el("tr", null,
          el("td", null, el("code", null, p.name), p.required ? " *" : ""),
          el("td", null, p.description || ""), el("td", null, schemaText(p.schema))));
        sec.append(el("table", null, el("thead", null, el("tr", null, el("th", null, "parameter"),
          el("th", null, "meaning"), el("th", null, "type"))), el("tbody", null, ...rows)));
      }
      if (op.requestBody) {
        const ref = op.requestBody.content["application/json"].schema.$ref.split("/").pop();
        sec.append(el("p", null, "Body (application/json): " + (spec.components.schemas[ref].description || ref)));
      }
      const statuses = Object.entries(op.responses).map(([code, r]) => {
        const ref = (r.content["application/json"].schema.$ref || "").split("/").pop();
        return el("li", null, el("code", null, code), " " + r.description + (ref ? ` (${ref})` : ""));
      });
      sec.append(el("ul", { class: "statuses" }, ...statuses));
      if (method === "get") sec.append(tryForm(path, op));
      main.append(sec);
    }
  }
  const schemas = el("section", { class: "endpoint" }, el("h2", null, "Schemas"));
  for (const [name, s] of Object.entries(spec.components.schemas)) {
    schemas.append(el("h3", null, name), el("pre", null, JSON.stringify(s, null, 2)));
  }
  main.append(schemas);
}

main();
