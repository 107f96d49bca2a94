/**
 * vega-interpreter, pinned: vega's expressions evaluated without `new Function`, so that the demo's
 * page keeps a Content-Security-Policy without 'unsafe-eval'.
 *
 * @module
 */

export { expressionInterpreter } from "npm:vega-interpreter@2.3.2";
