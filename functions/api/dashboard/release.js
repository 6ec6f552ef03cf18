// One release: its flow as a graph with live statuses, each environment's commit, checks, approvals and
// failure, the timeline, the release notes, and the verbs the viewer may use.

import { ApiRefusal, SignInNeeded, get, offers, post } from "./api.js";
import {
  FINAL_RELEASE_STATUSES,
  commitLink,
  h,
  notice,
  productLink,
  releaseLink,
  statusBadge,
  timeText,
} from "./dom.js";

const POLL_MILLISECONDS = 2000;
const NODE = { width: 176, height: 58, columnGap: 64, rowGap: 18 };
const SVG = "http://www.w3.org/2000/svg";
const FAILURE_KINDS = {
  check: "Check",
  "application-health": "Application health (Argo CD)",
  git: "Git error",
  approval: "Approval",
  hook: "Hook",
  terminated: "Terminated",
  other: "Other",
};

function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

// Each environment's column: how many dependsOn steps lie between it and an environment depending on nothing.
function columnsOf(environments) {
  const byName = new Map(environments.map((environment) => [environment.name, environment]));
  const depth = new Map();
  const depthOf = (name, path) => {
    if (depth.has(name)) return depth.get(name);
    const dependencies = byName.get(name).dependsOn.filter((d) => byName.has(d) && !path.has(d));
    const value = dependencies.length ? 1 + Math.max(...dependencies.map((d) => depthOf(d, new Set([...path, d])))) : 0;
    depth.set(name, value);
    return value;
  };
  const columns = [];
  for (const environment of environments) {
    const column = depthOf(environment.name, new Set([environment.name]));
    (columns[column] ??= []).push(environment);
  }
  return columns.map((column) => column ?? []);
}

function graph(release) {
  const columns = columnsOf(release.environments);
  const rows = Math.max(...columns.map((column) => column.length));
  const width = columns.length * NODE.width + (columns.length - 1) * NODE.columnGap;
  const height = rows * NODE.height + (rows - 1) * NODE.rowGap;
  const places = new Map();
  columns.forEach((column, x) => {
    const offset = ((rows - column.length) * (NODE.height + NODE.rowGap)) / 2;
    column.forEach((environment, y) => {
      places.set(environment.name, {
        left: x * (NODE.width + NODE.columnGap),
        top: offset + y * (NODE.height + NODE.rowGap),
      });
    });
  });
  const edges = svg("svg", { class: "edges", width, height, viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true" });
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 8, refY: 4, markerWidth: 8, markerHeight: 8, orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L8,4 L0,8 z", class: "arrowhead" }));
  const definitions = svg("defs");
  definitions.append(marker);
  edges.append(definitions);
  const nodes = h("ol", { class: "nodes" });
  for (const environment of release.environments) {
    const to = places.get(environment.name);
    for (const dependency of environment.dependsOn) {
      const from = places.get(dependency);
      if (!from) continue;
      const [x1, y1] = [from.left + NODE.width, from.top + NODE.height / 2];
      const [x2, y2] = [to.left, to.top + NODE.height / 2];
      const bend = NODE.columnGap / 2;
      edges.append(
        svg("path", {
          class: "edge",
          "data-from": dependency,
          "data-to": environment.name,
          d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
          "marker-end": "url(#arrow)",
        }),
      );
    }
    const node = h(
      "button",
      {
        type: "button",
        class: `node status-${environment.status}`,
        "data-environment": environment.name,
        "data-focus-key": `node-${environment.name}`,
        title: environment.dependsOn.length ? `after ${environment.dependsOn.join(", ")}` : "starts the flow",
        onclick: () => {
          const section = document.getElementById(`environment-${environment.name}`);
          section?.scrollIntoView({ block: "start" });
          section?.querySelector("h3")?.focus();
        },
      },
      h("span", { class: "node-name" }, environment.name),
      h("span", { class: "node-status" }, environment.status),
    );
    // Placed by the layout above; set through the style object, which the page's CSP allows.
    node.style.left = `${to.left}px`;
    node.style.top = `${to.top}px`;
    node.style.width = `${NODE.width}px`;
    node.style.height = `${NODE.height}px`;
    nodes.append(h("li", {}, node));
  }
  const drawing = h("div", { class: "graph", role: "group", "aria-label": "The flow: environments left to right, after the ones they depend on" }, edges, nodes);
  drawing.style.width = `${width}px`;
  drawing.style.height = `${height}px`;
  return h("div", { class: "scroll graph-frame" }, drawing);
}

function may(permissions, verb, environment) {
  if (!permissions) return true; // no permissions route: the API decides, and says why it refuses
  return Boolean(
    permissions.product?.includes(verb) || (environment && permissions.environments?.[environment]?.includes(verb)),
  );
}

function checksTable(checks) {
  if (!checks?.length) return null;
  return h(
    "table",
    { class: "checks" },
    h("caption", {}, "Checks"),
    h("thead", {}, h("tr", {}, ["Check", "Kind", "Stage", "Outcome", "Reason", "Last evaluated"].map((n) => h("th", { scope: "col" }, n)))),
    h(
      "tbody",
      {},
      checks.map((check) =>
        h(
          "tr",
          { "data-check": check.name },
          h("td", {}, check.name),
          h("td", {}, check.kind),
          h("td", {}, check.stage),
          h("td", {}, h("span", { class: `outcome outcome-${check.outcome}` }, check.outcome)),
          h("td", {}, check.reason ?? "", check.logsUrl ? [" ", h("a", { href: check.logsUrl, target: "_blank", rel: "noopener noreferrer" }, "logs")] : null),
          h("td", {}, timeText(check.lastEvaluatedAt)),
        ),
      ),
    ),
  );
}

function approvalsList(approvals) {
  if (!approvals?.length) return null;
  return h(
    "div",
    { class: "approvals" },
    h("h4", {}, "Approvals"),
    h(
      "ul",
      {},
      approvals.map((approval) =>
        h(
          "li",
          {},
          h("strong", {}, approval.approver ?? "nobody"),
          ` ${approval.decision}`,
          approval.at ? [" ", timeText(approval.at)] : null,
          approval.reason ? `: ${approval.reason}` : null,
        ),
      ),
    ),
  );
}

function failureBlock(failure) {
  if (!failure) return null;
  return h(
    "div",
    { class: "failure", "data-failure-kind": failure.kind },
    h("span", { class: `tag tag-${failure.kind}` }, FAILURE_KINDS[failure.kind] ?? failure.kind),
    failure.check ? h("strong", {}, ` ${failure.check}`) : null,
    h("p", {}, failure.message),
    failure.logsUrl ? h("a", { href: failure.logsUrl, target: "_blank", rel: "noopener noreferrer" }, "Logs") : null,
  );
}

function pullRequests(environment) {
  if (!environment.pullRequests?.length) return null;
  return h(
    "p",
    {},
    "Pull requests: ",
    environment.pullRequests.map((pr, index) => [
      index ? ", " : "",
      h("a", { href: pr.url, target: "_blank", rel: "noopener noreferrer" }, `#${pr.number}`),
    ]),
  );
}

function timeline(release) {
  const events = [{ at: release.createdAt, text: `release of ${release.version} created` }];
  for (const environment of release.environments) {
    if (environment.startedAt) events.push({ at: environment.startedAt, text: `${environment.name} started` });
    if (environment.committedAt) events.push({ at: environment.committedAt, text: `${environment.name} committed` });
    if (environment.finishedAt) events.push({ at: environment.finishedAt, text: `${environment.name} ended ${environment.status}` });
    for (const approval of environment.approvals ?? []) {
      if (approval.at) events.push({ at: approval.at, text: `${approval.approver ?? "nobody"} ${approval.decision} ${environment.name}` });
    }
  }
  for (const entry of release.audit) {
    events.push({ at: entry.at, text: `${entry.actor}: ${entry.action}${entry.detail ? ` (${entry.detail})` : ""}` });
  }
  events.sort((a, b) => a.at.localeCompare(b.at));
  return h(
    "section",
    { class: "timeline" },
    h("h2", {}, "Timeline"),
    h("ol", {}, events.map((event) => h("li", {}, timeText(event.at), " ", event.text))),
  );
}

function notesSection(notes, source) {
  if (!notes) return null;
  if (notes instanceof Error) return h("section", { class: "notes" }, h("h2", {}, "Release notes"), notice(notes.message));
  return h(
    "section",
    { class: "notes" },
    h("h2", {}, "Release notes"),
    h("p", { class: "small" }, notes.previousRelease ? ["Since ", releaseLink(notes.previousRelease)] : "The product's first release."),
    notes.commits.length
      ? h(
          "ul",
          {},
          notes.commits.map((commit) =>
            h(
              "li",
              { "data-commit": commit.commit },
              commitLink(source.repoUrl, commit.commit),
              " ",
              h("span", {}, commit.subject),
              h("span", { class: "small" }, ` ${commit.author}, `, timeText(commit.at)),
              (commit.issues ?? []).map((issue) => [" ", h("span", { class: "tag" }, issue)]),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No commits."),
  );
}

// A modal question: resolves to the reason given (maybe empty), or null when cancelled.
function ask({ title, text, confirm, reason }) {
  return new Promise((resolve) => {
    const field = reason ? h("textarea", { name: "reason", rows: 3, required: reason.required, maxlength: 500 }) : null;
    const dialog = h(
      "dialog",
      { class: "ask", "aria-labelledby": "ask-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "ask-title" }, title),
        h("p", {}, text),
        field ? h("label", { class: "field" }, h("span", {}, reason.label), field) : null,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", value: "confirm" }, confirm),
          h("button", { type: "button", class: "secondary", onclick: () => dialog.close("cancel") }, "Cancel"),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm" ? (field?.value.trim() ?? "") : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function releaseView(id, { navigate }) {
  const state = { release: null, permissions: undefined, notes: null, message: null, timer: null, stopped: false };
  const container = h("div", { class: "release-view" });
  const path = `releases/${encodeURIComponent(id)}`;

  async function loadPermissions(product) {
    if (!(await offers("products/{}/permissions"))) return null;
    try {
      return await get(`products/${encodeURIComponent(product)}/permissions`);
    } catch (error) {
      if (error instanceof ApiRefusal && error.status === 404) return null;
      throw error;
    }
  }

  async function loadNotes() {
    if (!(await offers("releases/{}/notes"))) return null;
    try {
      return await get(`${path}/notes`);
    } catch (error) {
      if (error instanceof ApiRefusal) return new Error(`Release notes: ${error.detail}`);
      throw error;
    }
  }

  async function act(button, label, call) {
    button.disabled = true;
    try {
      const answer = await call();
      state.message = { kind: "success", text: `${label}: done.` };
      if (answer?.id && answer.id !== id) {
        navigate(`#/releases/${encodeURIComponent(answer.id)}`);
        return;
      }
      state.release = answer ?? (await get(path));
    } catch (error) {
      if (error instanceof SignInNeeded) {
        navigate(location.hash);
        return;
      }
      const why = error instanceof ApiRefusal ? `refused: ${error.detail}` : `failed: ${error.message}`;
      state.message = { kind: "error", text: `${label} ${why}` };
    }
    render();
    poll();
  }

  function actionButton(label, focusKey, onclick) {
    const button = h("button", { type: "button", "data-focus-key": focusKey, "data-action": label });
    button.textContent = label;
    button.addEventListener("click", () => onclick(button));
    return button;
  }

  function releaseActions(release) {
    const buttons = [];
    if (["Queued", "Running", "Suspended"].includes(release.status) && may(state.permissions, "terminate")) {
      buttons.push(
        actionButton("Terminate", "terminate", async (button) => {
          const reason = await ask({
            title: `Terminate ${release.version}?`,
            text: "Unfinished environments end Terminated; a push under way finishes first.",
            confirm: "Terminate",
            reason: { label: "Reason (optional)", required: false },
          });
          if (reason === null) return;
          await act(button, "Terminate", () => post(`${path}/terminate`, reason ? { reason } : {}));
        }),
      );
    }
    if (["Failed", "Terminated"].includes(release.status) && may(state.permissions, "retry")) {
      buttons.push(actionButton("Retry", "retry", (button) => act(button, "Retry", () => post(`${path}/retry`))));
    }
    return buttons.length ? h("div", { class: "actions" }, buttons) : null;
  }

  function environmentActions(release, environment) {
    const buttons = [];
    const name = environment.name;
    if (environment.status === "Suspended" && may(state.permissions, "approve", name)) {
      buttons.push(
        actionButton("Approve", `approve-${name}`, (button) =>
          act(button, `Approve ${name}`, () => post(`${path}/environments/${encodeURIComponent(name)}/approve`)),
        ),
        actionButton("Reject", `reject-${name}`, async (button) => {
          const reason = await ask({
            title: `Reject ${release.version} for ${name}?`,
            text: `${name} fails with your reason, and the release with it.`,
            confirm: "Reject",
            reason: { label: "Why", required: true },
          });
          if (reason === null) return;
          await act(button, `Reject ${name}`, () => post(`${path}/environments/${encodeURIComponent(name)}/reject`, { reason }));
        }),
      );
    }
    const rollsBack =
      FINAL_RELEASE_STATUSES.has(release.status) &&
      environment.status === "Successful" &&
      name !== release.triggerEnvironment &&
      may(state.permissions, "rollback", name);
    if (rollsBack) {
      buttons.push(
        actionButton("Rollback", `rollback-${name}`, async (button) => {
          const answer = await ask({
            title: `Roll back ${name}?`,
            text: `${name} gets back what the release before the one it runs now promoted, through its gates, as a release of its own.`,
            confirm: "Roll back",
          });
          if (answer === null) return;
          await act(button, `Rollback ${name}`, () =>
            post(`products/${encodeURIComponent(release.product)}/rollback`, { environment: name }),
          );
        }),
      );
    }
    return buttons.length ? h("div", { class: "actions" }, buttons) : null;
  }

  function environmentSection(release, environment) {
    return h(
      "section",
      { class: `environment status-edge-${environment.status}`, id: `environment-${environment.name}`, "data-environment": environment.name },
      h("h3", { tabindex: -1 }, environment.name, " ", statusBadge(environment.status)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Commit"),
        h("dd", {}, commitLink(release.source.repoUrl, environment.commit)),
        h("dt", {}, "Started"),
        h("dd", {}, timeText(environment.startedAt)),
        h("dt", {}, "Finished"),
        h("dd", {}, timeText(environment.finishedAt)),
      ),
      environment.reason && !environment.failure ? h("p", { class: "reason" }, environment.reason) : null,
      failureBlock(environment.failure),
      pullRequests(environment),
      checksTable(environment.checks),
      approvalsList(environment.approvals),
      environmentActions(release, environment),
    );
  }

  function render() {
    const release = state.release;
    const focused = document.activeElement?.dataset?.focusKey;
    container.replaceChildren(
      h(
        "header",
        { class: "release-header" },
        h("h1", {}, productLink(release.product), " ", release.version, " ", statusBadge(release.status)),
        h(
          "p",
          { class: "small" },
          `Flow ${release.flow}, from ${release.triggerEnvironment} at `,
          commitLink(release.source.repoUrl, release.source.commit),
          ` (${release.source.branch}), created `,
          timeText(release.createdAt),
          release.action ? `, action ${release.action}` : "",
        ),
        release.reason ? h("p", { class: "reason" }, release.reason) : null,
        releaseActions(release),
      ),
      h("div", { class: "message", "aria-live": "polite" }, state.message ? notice(state.message.text, state.message.kind) : null),
      graph(release),
      h("div", { class: "environments" }, release.environments.map((environment) => environmentSection(release, environment))),
      notesSection(state.notes, release.source),
      timeline(release),
    );
    if (focused) container.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  }

  function poll() {
    clearTimeout(state.timer);
    if (state.stopped || FINAL_RELEASE_STATUSES.has(state.release.status)) return;
    state.timer = setTimeout(async () => {
      try {
        state.release = await get(path);
        if (!state.stopped) render();
      } catch (error) {
        state.message = { kind: "error", text: `Could not refresh: ${error.message}` };
        if (!state.stopped) render();
      }
      poll();
    }, POLL_MILLISECONDS);
  }

  return {
    async start() {
      state.release = await get(path);
      [state.permissions, state.notes] = await Promise.all([loadPermissions(state.release.product), loadNotes()]);
      render();
      poll();
      return { title: `${state.release.product} ${state.release.version}`, content: container };
    },
    stop() {
      state.stopped = true;
      clearTimeout(state.timer);
    },
  };
}
