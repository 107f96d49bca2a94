/**
 * protobufjs, pinned: the one place in the library that names its npm package, so that the
 * library resolves without an import map (imported by path, by URL or from JSR).
 *
 * @module
 */

export { default as protobuf } from "npm:protobufjs@8.8.1";
