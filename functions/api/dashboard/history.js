// Releases, newest first, page by page, with filters: the ones the API takes are sent to it, the others
// (which an older deployment may not take) are applied here to the releases it returns.

import { get, parametersOf, query } from "./api.js";
import { h, notice, productLink, releaseLink, shortCommit, statusBadge, timeText } from "./dom.js";

const RELEASE_STATUSES = ["Queued", "Running", "Suspended", "Succeeded", "Failed", "Terminating", "Terminated"];
const PAGE_SIZE = 25;

// A release's id carries the first 12 characters of the commit it promotes (promotions.release.model).
function matchesSearch(release, search) {
  const wanted = search.trim().toLowerCase();
  if (!wanted) return true;
  return release.version.toLowerCase().includes(wanted) || release.id.toLowerCase().includes(shortCommit(wanted));
}

function withinDates(release, since, until) {
  const day = release.createdAt.slice(0, 10);
  return (!since || day >= since) && (!until || day <= until);
}

function clientFilter(filters, sentToServer) {
  return (release) =>
    (sentToServer.has("flow") || !filters.flow || release.flow === filters.flow) &&
    (sentToServer.has("q") || matchesSearch(release, filters.q)) &&
    withinDates(release, sentToServer.has("since") ? "" : filters.since, sentToServer.has("until") ? "" : filters.until);
}

function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

export async function historyView({ product } = {}) {
  const accepted = await parametersOf("releases");
  const products = product ? [] : (await get("products")).products.map((p) => p.product);
  const filters = { product: product ?? "", status: "", flow: "", since: "", until: "", q: "" };
  const rows = h("tbody");
  const status = h("p", { class: "small", role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More releases");
  let next = null;
  let shown = 0;
  let seen = 0;

  async function load(append) {
    const sent = new Set(["flow", "since", "until", "q"].filter((name) => accepted.has(name) && filters[name]));
    const parameters = { product: filters.product, status: filters.status, limit: PAGE_SIZE, next: append ? next : "" };
    for (const name of sent) parameters[name] = name === "until" ? `${filters.until}T23:59:59Z` : filters[name];
    if (sent.has("since")) parameters.since = `${filters.since}T00:00:00Z`;
    const page = await get(`releases${query(parameters)}`);
    if (!append) {
      rows.replaceChildren();
      shown = seen = 0;
    }
    const wanted = page.releases.filter(clientFilter(filters, sent));
    seen += page.releases.length;
    shown += wanted.length;
    rows.append(
      ...wanted.map((release) =>
        h(
          "tr",
          { "data-release": release.id },
          h("td", {}, releaseLink(release.id, release.version)),
          product ? null : h("td", {}, productLink(release.product)),
          h("td", {}, release.flow),
          h("td", {}, statusBadge(release.status)),
          h("td", {}, timeText(release.createdAt)),
          h("td", {}, h("code", { class: "small" }, release.id)),
        ),
      ),
    );
    next = page.next;
    more.hidden = !next;
    status.textContent = shown
      ? `${shown} release${shown === 1 ? "" : "s"} shown${seen > shown ? ` of ${seen} read` : ""}`
      : "No release matches.";
  }

  const control = (name, element) => {
    element.value = filters[name];
    const remember = () => {
      filters[name] = element.value;
    };
    element.addEventListener("input", remember);
    element.addEventListener("change", remember);
    return element;
  };
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        load(false).catch((error) => status.replaceChildren(notice(error.message, "error")));
      },
    },
    product
      ? null
      : field("Product", control("product", h("select", { name: "product" }, h("option", { value: "" }, "All"), products.map((p) => h("option", { value: p }, p))))),
    field("Status", control("status", h("select", { name: "status" }, h("option", { value: "" }, "Any"), RELEASE_STATUSES.map((s) => h("option", { value: s }, s))))),
    field("Flow", control("flow", h("input", { name: "flow", type: "text", size: 14 }))),
    field("From", control("since", h("input", { name: "since", type: "date" }))),
    field("To", control("until", h("input", { name: "until", type: "date" }))),
    field("Version or commit", control("q", h("input", { name: "q", type: "search", size: 16 }))),
    h("button", { type: "submit" }, "Filter"),
  );
  more.addEventListener("click", () => load(true).catch((error) => status.replaceChildren(notice(error.message, "error"))));
  await load(false);
  return {
    title: product ? `${product}: history` : "History",
    content: h(
      "section",
      { class: "history" },
      h(product ? "h2" : "h1", {}, "History"),
      form,
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "releases" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Version", product ? null : "Product", "Flow", "Status", "Created", "Release"]
                .filter(Boolean)
                .map((name) => h("th", { scope: "col" }, name)),
            ),
          ),
          rows,
        ),
      ),
      status,
      more,
    ),
  };
}
