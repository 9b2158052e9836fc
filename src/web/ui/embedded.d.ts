// Front-end files embedded as text (`with { type: "text" }`) by ../assets.ts (imported there
// as "./ui/…"). The UI's .js files are browser ES modules, not part of the TypeScript program.
declare module "./ui/*" {
  const text: string;
  export default text;
}
declare module "uplot/dist/*" {
  const text: string;
  export default text;
}
