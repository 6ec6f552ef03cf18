// Every piece of data comes from /api/v1, with the caller's token; the page's own files carry none.

const TOKEN_KEY = "promotions.dashboard.token";
const API_ROOT = new URL("../api/v1/", document.baseURI);

export class ApiRefusal extends Error {
  // A problem document (RFC 9457) the API answered: its detail is what people are shown.
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

export class SignInNeeded extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// `local up` prints the page's address with the token in the fragment, which the browser never sends to a
// server: it moves to this tab's session storage, and the address bar is left without it.
export function takeTokenFromAddress() {
  const fields = new URLSearchParams(location.hash.replace(/^#\/?/, ""));
  const given = fields.get("token");
  if (!given) return;
  signIn(given);
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
}

export async function request(method, path, body) {
  const bearer = token();
  if (!bearer) throw new SignInNeeded();
  const headers = { Accept: "application/json", Authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(new URL(path, API_ROOT), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut();
    throw new SignInNeeded();
  }
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiRefusal(response.status, answer?.detail ?? `${response.status} ${response.statusText}`);
  }
  return answer;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);

export function query(parameters) {
  const fields = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== "") fields.set(name, value);
  }
  const text = fields.toString();
  return text ? `?${text}` : "";
}

// The routes the API serves, from its own OpenAPI document (open to anyone): the page asks only for what the
// deployment has, instead of reading a 404 from a route it lacks.
let described;

function shape(path) {
  return path.replace(/\{[^}]+\}/g, "{}");
}

async function openApiDocument() {
  described ??= fetch(new URL("openapi.json", API_ROOT)).then((response) =>
    response.ok ? response.json() : { paths: {} },
  );
  return described;
}

export async function offers(path) {
  const { paths } = await openApiDocument();
  return Object.keys(paths).some((known) => shape(known) === shape(`/api/v1/${path}`));
}

// The query parameters a GET route takes, by name.
export async function parametersOf(path) {
  const { paths } = await openApiDocument();
  const route = Object.entries(paths).find(([known]) => shape(known) === shape(`/api/v1/${path}`));
  return new Set((route?.[1]?.get?.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
}
