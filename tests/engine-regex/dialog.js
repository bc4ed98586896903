// The engine's VM dialog (Edit VM > Custom Properties), as the browser runs
// it: each declared regex through JavaScript's own RegExp.
//
// The dialog's check is KeyValueModel.validate -> RegexValidation ->
// org.ovirt.engine.core.compat.Regex, whose GWT version compiles the pattern
// with com.google.gwt.regexp.shared.RegExp.compile(pattern, "") (no flags)
// and answers with test(value): the browser's RegExp, unanchored "find".
// KeyValueModel.setKeyValueString shows a property as a drop-down list
// instead of a text field when its regex has the form ^(a|b|...)$, found
// by the same kind of unanchored test.
//
// usage: node dialog.js REGEXES CORPUS
//   REGEXES  one "name=regex" per line, as engine-config declares them
//   CORPUS   one "property<TAB>accept|refuse<TAB>hex of the UTF-8 value" per line
// Prints the drop-down properties with their values, then every value on
// which the dialog's answer differs from the expected one. Exits 1 when a
// regex does not compile, a value's answer differs, or a line is malformed.

"use strict";
const fs = require("fs");

const [regexFile, corpusFile] = process.argv.slice(2);
if (!regexFile || !corpusFile) {
    console.error("usage: node dialog.js REGEXES CORPUS");
    process.exit(64);
}

// KeyValueModel's own pattern for a drop-down declaration.
const DROP_DOWN = new RegExp("\\^\\((([a-zA-Z0-9_]+[|]+)*)[a-zA-Z0-9_]+\\)\\$", "");

let problems = 0;
const dialog = new Map();
const uncompiled = new Set();
for (const line of fs.readFileSync(regexFile, "utf8").split("\n")) {
    if (line === "") continue;
    // The engine splits a declaration on its first '=' only.
    const at = line.indexOf("=");
    const name = line.slice(0, at), pattern = line.slice(at + 1);
    try {
        dialog.set(name, new RegExp(pattern, ""));
    } catch (err) {
        console.log(`${name}: the browser cannot compile the regex: ${err.message}`);
        uncompiled.add(name);
        problems++;
        continue;
    }
    if (DROP_DOWN.test(pattern)) {
        const values = pattern.substring(2, pattern.length - 2).split("|");
        console.log(`drop-down ${name}: ${values.join(" ")}`);
    }
}

let checked = 0;
const shown = {};
for (const line of fs.readFileSync(corpusFile, "utf8").split("\n")) {
    if (line === "") continue;
    const [name, expected, hex] = line.split("\t");
    if (uncompiled.has(name)) continue;
    const regex = dialog.get(name);
    if (regex === undefined || !["accept", "refuse"].includes(expected) || hex === undefined) {
        console.log(`malformed corpus line: ${line.slice(0, 80)}`);
        problems++;
        continue;
    }
    const value = Buffer.from(hex, "hex").toString("utf8");
    const accepted = regex.test(value);
    checked++;
    if (accepted !== (expected === "accept")) {
        shown[name] = (shown[name] || 0) + 1;
        if (shown[name] <= 20) {
            const text = value.length > 80 ? `${value.slice(0, 60)}...(${value.length} chars)` : value;
            console.log(`${name}: the dialog ${accepted ? "accepts" : "refuses"} ${JSON.stringify(text)}, the parser ${expected}s it`);
        }
        problems++;
    }
}
console.log(`javascript ${process.version}: ${checked} values, ${problems} problems`);
process.exit(problems === 0 ? 0 : 1);
