// DOM helpers and the current page's cleanup list.

/** Cleanup functions of the current page (event sources, timers). */
const cleanups = [];

/** Creates an element: h("td", { class: "x", onclick: f }, "text", child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, String(v));
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const main = () => $("#main");

export function setMain(...children) {
  main().replaceChildren(...children);
}

/** Registers `f` to run when the page is left (see cleanup). */
export function onCleanup(f) {
  cleanups.push(f);
}

/** Runs and forgets the cleanup functions of the page being left. */
export function cleanup() {
  for (const f of cleanups.splice(0)) {
    try {
      f();
    } catch {
      // already closed
    }
  }
}
