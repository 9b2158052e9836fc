// The session (user, CSRF token) and the JSON API client of docs/api.md.

/** The logged-in user, the session's CSRF token and the cached `/api/schema`. */
export const state = {
  user: null,
  csrf: null,
  schema: null,
};

let unauthorized = () => {};

/** Sets what happens when the API answers 401 (the app shows the login form). */
export function onUnauthorized(f) {
  unauthorized = f;
}

export class ApiError extends Error {
  constructor(status, data) {
    super(data?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

/** Calls the JSON API. Non-GET requests carry the CSRF token. Throws ApiError. */
export async function api(method, path, body) {
  const headers = {};
  if (method !== "GET" && state.csrf) headers["x-csrf-token"] = state.csrf;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const isJson = (res.headers.get("content-type") ?? "").includes("application/json");
  const data = isJson ? await res.json() : await res.text();
  if (res.status === 401 && path !== "/api/login" && path !== "/api/session") {
    state.user = null;
    unauthorized();
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
