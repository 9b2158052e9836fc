// Front-end files embedded as text (`with { type: "text" }`) by ../assets.ts.
declare module "*/ui/app.js" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
