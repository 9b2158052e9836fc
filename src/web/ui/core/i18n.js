// Languages: one catalogue per language (i18n/en.js, i18n/ko.js), chosen from the browser's
// language unless the user picked one with the switch (#lang, kept in localStorage).
import en from "../i18n/en.js";
import ko from "../i18n/ko.js";

export const CATALOGUES = { en, ko };
export const LANGUAGES = [
  ["en", "English"],
  ["ko", "한국어"],
];

function pick() {
  let saved = null;
  try {
    saved = localStorage.getItem("ne-lang");
  } catch {
    // storage blocked
  }
  if (saved && CATALOGUES[saved]) return saved;
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (CATALOGUES[base]) return base;
  }
  return "en";
}

let lang = pick();

/** The current language (`en`, `ko`). */
export function currentLang() {
  return lang;
}

/**
 * The text of `key` in the current language (English when missing, the key itself when in
 * neither), each `{name}` replaced from `vars` (a `{name}` not in `vars` stays as written).
 */
export function t(key, vars = {}) {
  const s = CATALOGUES[lang]?.[key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** Translates the static page: `data-i18n="key"` (text) and `data-i18n-aria="key"` (aria-label). */
export function translatePage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]"))
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

/** Switches to `l`, remembers it, and calls `then` (re-render). */
export function setLang(l, then) {
  if (!CATALOGUES[l]) return;
  lang = l;
  try {
    localStorage.setItem("ne-lang", l);
  } catch {
    // storage blocked: for this page only
  }
  translatePage();
  then?.();
}
