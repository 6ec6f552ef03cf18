// The dashboard's entry: sign-in, hash routes, and one view at a time (a release view polls until it ends).

import { SignInNeeded, signIn, signOut, takeTokenFromAddress, token } from "./api.js";
import { h, notice } from "./dom.js";
import { historyView } from "./history.js";
import { productView, productsView } from "./products.js";
import { releaseView } from "./release.js";

const main = document.getElementById("main");
let current = null;
let generation = 0;

function signInForm() {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, size: 40 });
  return {
    title: "Sign in",
    content: h(
      "form",
      {
        class: "sign-in",
        onsubmit: (event) => {
          event.preventDefault();
          signIn(input.value);
          route();
        },
      },
      h("h1", {}, "Sign in"),
      h(
        "p",
        {},
        "Paste the token `promotions local up` printed, or, on AWS, a token (JWT) from the identity provider the API trusts. It is kept in this tab only.",
      ),
      h("label", { for: "token" }, "Token"),
      " ",
      input,
      " ",
      h("button", { type: "submit" }, "Sign in"),
    ),
  };
}

function viewFor(hash) {
  const [, section, name] = /^#\/?([^/]*)\/?(.*)$/.exec(hash || "#/") ?? [];
  const argument = name ? decodeURIComponent(name) : "";
  if (section === "releases" && argument) return releaseView(argument, { navigate });
  const once = (load) => ({ start: load, stop() {} });
  if (section === "products" && argument) return once(() => productView(argument));
  if (section === "history") return once(() => historyView());
  return once(() => productsView());
}

function show({ title, content }) {
  document.title = `${title} · Promotions`;
  main.replaceChildren(...[content].flat().filter(Boolean));
  main.setAttribute("aria-busy", "false");
}

export async function route() {
  current?.stop();
  const mine = ++generation;
  document.getElementById("sign-out").hidden = !token();
  if (!token()) {
    current = null;
    show(signInForm());
    return;
  }
  main.setAttribute("aria-busy", "true");
  current = viewFor(location.hash);
  try {
    const view = await current.start();
    if (mine === generation) show(view);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof SignInNeeded) {
      route();
      return;
    }
    show({ title: "Error", content: [h("h1", {}, "Something went wrong"), notice(error.message, "error")] });
  }
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

takeTokenFromAddress();
document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  route();
});
window.addEventListener("hashchange", route);
route();
