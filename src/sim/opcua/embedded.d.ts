// The standard nodeset image, embedded as a file (`with { type: "file" }`: the import is its
// path) by ./standard-nodeset.ts.
declare module "*.ndjson.br" {
  const path: string;
  export default path;
}
