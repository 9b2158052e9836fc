// sparkplug_b.proto embedded as text (`with { type: "text" }`) by ./codec.ts.
declare module "*.proto" {
  const text: string;
  export default text;
}
