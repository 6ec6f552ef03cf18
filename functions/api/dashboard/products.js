// What runs where: the products × environments grid, and a product's own page (its environments, its
// delivery metrics, its history).

import { ApiRefusal, get, offers } from "./api.js";
import { commitLink, durationText, h, notice, productLink, releaseLink, timeText, valueText } from "./dom.js";
import { historyView } from "./history.js";

// Releases are read once per page load to find the repository an environment's commit was written to (the
// release's source: the product's GitOps repository).
async function sourcesOf(products) {
  const ids = new Set(products.flatMap((product) => product.environments.map((e) => e.release).filter(Boolean)));
  const sources = new Map();
  await Promise.all(
    [...ids].map(async (id) => {
      const release = await get(`releases/${encodeURIComponent(id)}`);
      sources.set(id, release.source);
    }),
  );
  return sources;
}

// Per environment of the product, its drift; an Error when drift could not be read (the message says why),
// null where this deployment has no drift route.
async function driftOf(product) {
  if (!(await offers("products/{}/drift"))) return null;
  try {
    const drift = await get(`products/${encodeURIComponent(product)}/drift`);
    return new Map(drift.environments.map((environment) => [environment.environment, environment]));
  } catch (error) {
    if (error instanceof ApiRefusal) return new Error(error.detail);
    throw error;
  }
}

function driftCell(drift, environment) {
  if (drift === null) return null;
  if (drift instanceof Error) return h("p", { class: "muted drift" }, `drift unknown: ${drift.message}`);
  const state = drift.get(environment);
  if (!state || !state.promotedFrom) return null;
  if (state.changes.length === 0) {
    return h("p", { class: "drift in-sync" }, `in sync with ${state.promotedFrom}`);
  }
  const count = state.changes.length;
  return h(
    "details",
    { class: "drift drifted" },
    h("summary", {}, `${count} change${count === 1 ? "" : "s"} from ${state.promotedFrom}`),
    h(
      "ul",
      {},
      state.changes.map((change) =>
        h(
          "li",
          {},
          h("code", {}, `${change.file} ${change.property}`),
          h("br"),
          h("span", { class: "old" }, valueText(change.current)),
          " → ",
          h("span", { class: "new" }, valueText(change.next)),
        ),
      ),
    ),
  );
}

function environmentCell(state, sources, drift) {
  if (!state) return h("td", { class: "muted" }, "—");
  const source = state.release ? sources.get(state.release) : null;
  return h(
    "td",
    { "data-environment": state.environment },
    state.version
      ? [
          h("strong", { class: "version" }, state.version),
          h("div", {}, commitLink(source?.repoUrl, state.commit), " ", timeText(state.since)),
          h("div", { class: "small" }, "by ", releaseLink(state.release, "its release")),
        ]
      : h("span", { class: "muted" }, "not promoted yet"),
    driftCell(drift, state.environment),
  );
}

function grid(products, sources, drifts) {
  const columns = [];
  for (const product of products) {
    for (const { environment } of product.environments) if (!columns.includes(environment)) columns.push(environment);
  }
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "grid" },
      h("caption", { class: "visually-hidden" }, "Version of each product in each environment"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), columns.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        products.map((product) => {
          const states = new Map(product.environments.map((state) => [state.environment, state]));
          return h(
            "tr",
            { "data-product": product.product },
            h("th", { scope: "row" }, productLink(product.product)),
            columns.map((column) => environmentCell(states.get(column), sources, drifts.get(product.product))),
          );
        }),
      ),
    ),
  );
}

async function gridOf(products) {
  const [sources, drifts] = await Promise.all([
    sourcesOf(products),
    Promise.all(products.map(async (p) => [p.product, await driftOf(p.product)])).then((pairs) => new Map(pairs)),
  ]);
  return grid(products, sources, drifts);
}

export async function productsView() {
  const { products } = await get("products");
  return {
    title: "Products",
    content: [
      h("h1", {}, "Products"),
      products.length ? await gridOf(products) : notice("The configuration names no product yet."),
    ],
  };
}

function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)} %`;
}

async function metricsSection(product) {
  const days = 30;
  if (!(await offers("products/{}/metrics"))) return null;
  let metrics;
  try {
    metrics = await get(`products/${encodeURIComponent(product)}/metrics?days=${days}`);
  } catch (error) {
    if (error instanceof ApiRefusal) return h("section", {}, h("h2", {}, "Delivery"), notice(error.detail, "error"));
    throw error;
  }
  const frequency = metrics.deploymentFrequency ?? {};
  const lead = metrics.leadTimeForChanges ?? {};
  const failures = metrics.changeFailureRate ?? {};
  const restore = metrics.timeToRestore ?? {};
  const figure = (name, value, detail) =>
    h("div", { class: "figure" }, h("dt", {}, name), h("dd", {}, h("strong", {}, value), h("span", { class: "small" }, detail)));
  return h(
    "section",
    { class: "metrics" },
    h("h2", {}, `Delivery to prod, last ${metrics.days ?? days} days`),
    h(
      "dl",
      { class: "figures" },
      figure("Deployment frequency", `${frequency.deployments ?? 0}`, ` (${(frequency.perDay ?? 0).toFixed(2)} a day)`),
      figure("Lead time for changes", durationText(lead.medianSeconds), ` median of ${lead.samples ?? 0}`),
      figure("Change failure rate", percent(failures.rate), ` ${failures.failed ?? 0} of ${failures.total ?? 0}`),
      figure("Time to restore", durationText(restore.medianSeconds), ` median of ${restore.samples ?? 0}`),
    ),
  );
}

export async function productView(name) {
  const product = await get(`products/${encodeURIComponent(name)}`);
  const [table, metrics, history] = await Promise.all([gridOf([product]), metricsSection(name), historyView({ product: name })]);
  return {
    title: name,
    content: [h("h1", {}, name), table, metrics, history.content].flat(),
  };
}
