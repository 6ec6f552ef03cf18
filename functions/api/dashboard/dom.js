// Building the page: elements from plain values (text is always set as text, never parsed as HTML), and the
// formats every view shares.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export const FINAL_RELEASE_STATUSES = new Set(["Succeeded", "Failed", "Terminated"]);

// A status as a coloured badge that also says it in words: colour is never the only sign.
export function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, status);
}

export function shortCommit(commit) {
  return commit ? commit.slice(0, 12) : "";
}

const COMMIT_PAGES = {
  "github.com": (path, commit) => `https://github.com/${path}/commit/${commit}`,
  "gitlab.com": (path, commit) => `https://gitlab.com/${path}/-/commit/${commit}`,
  "bitbucket.org": (path, commit) => `https://bitbucket.org/${path}/commits/${commit}`,
};

// The commit's page on its Git host, for the hosts whose page addresses are known; null elsewhere.
export function commitUrl(repoUrl, commit) {
  if (!repoUrl || !commit) return null;
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(repoUrl); // git@github.com:owner/repo.git
  let host;
  let path;
  if (scp) {
    [, host, path] = scp;
  } else {
    try {
      const url = new URL(repoUrl);
      host = url.hostname;
      path = url.pathname;
    } catch {
      return null;
    }
  }
  const page = COMMIT_PAGES[host.toLowerCase()];
  const repository = path.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "");
  return page && repository ? page(repository, commit) : null;
}

// A short commit id, linked to its page where the host is known.
export function commitLink(repoUrl, commit) {
  if (!commit) return h("span", { class: "muted" }, "—");
  const url = commitUrl(repoUrl, commit);
  const text = h("code", { title: commit }, shortCommit(commit));
  return url ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, text) : text;
}

export function releaseLink(id, text = id) {
  return h("a", { href: `#/releases/${encodeURIComponent(id)}` }, text);
}

export function productLink(product) {
  return h("a", { href: `#/products/${encodeURIComponent(product)}` }, product);
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

export function relativeTime(iso) {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") return RELATIVE.format(Math.round(seconds / size), unit);
  }
  return "";
}

// A time as people read it, with the exact instant on hover and for screen readers.
export function timeText(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const exact = new Date(iso).toLocaleString();
  return h("time", { datetime: iso, title: exact }, `${relativeTime(iso)}`);
}

export function durationText(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

// A value the API returned as JSON, shown as short text (a promoted property may be any JSON value).
export function valueText(value) {
  if (value === null || value === undefined) return "(none)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function notice(text, kind = "info") {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
