// How long a value can the engine's regex take before java.util.regex
// overflows the thread's stack?
//
// The engine checks each custom property value with String.matches() on
// the thread that serves the request, whose stack is -Xss (ENGINE_THREAD_STACK,
// 1M by default). java.util.regex matches a greedy group quantifier by
// recursing once per iteration, and on a freshly started engine every frame
// is an interpreter frame; run this with -Xint -Xss1m to get that case.
//
// usage:
//   java -Xint -Xss1m RegexDepth.java limits REGEXES MAX_CHARS
//       for each property of REGEXES and each repetitive shape of value,
//       the longest value that matches without StackOverflowError (up to
//       MAX_CHARS characters, found by bisection)
//   java -Xint -Xss1m RegexDepth.java engine-syntax MAX_CHARS
//       the engine's own checks that run before the regexes (every value
//       against ([^;])*, the whole property string against its pattern), on
//       values of MAX_CHARS characters
//   java RegexDepth.java agree REGEXES_A REGEXES_B
//       the two files' regexes accept and refuse the same values, on every
//       short string over each property's alphabet and on many long ones
//   java -Xint -Xss1m RegexDepth.java corpus REGEXES CORPUS
//       the backend's answer (String.matches) on every value of CORPUS, one
//       "property<TAB>accept|refuse<TAB>hex of the UTF-8 value" per line
//       (tests/it/regex_agreement.rs writes it), against the expected one; a
//       regex that does not compile or a StackOverflowError is a failure
//
// REGEXES: one "name=regex" per line, as the engine-config command declares
// them ('#' comments and blank lines ignored).

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.HexFormat;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class RegexDepth {

    /** One repetitive value: n units, each unit made by the function. */
    record Shape(String property, String name, IntFunction<String> value) {}

    enum Outcome { MATCH, NO_MATCH, OVERFLOW }

    static String join(String head, String separator, int n, IntFunction<String> unit) {
        StringBuilder sb = new StringBuilder(head);
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(separator);
            sb.append(unit.apply(i));
        }
        return sb.toString();
    }

    static final List<Shape> SHAPES = List.of(
        new Shape("cputune", "vcpu#cpu joined by _ (0#0_1#1_...)",
            n -> join("", "_", n, i -> i + "#" + i)),
        new Shape("cputune", "vcpu#cpu joined by , (0#0,1#1,...)",
            n -> join("", ",", n, i -> i + "#" + i)),
        new Shape("cputune", "one vCPU, many cpuset terms (0#0,2,4,...)",
            n -> join("0#", ",", n, i -> String.valueOf(2 * i))),
        new Shape("cputune", "two entries by _, many terms (0#0,2,..._1#1,3,...)",
            n -> join("0#", ",", n, i -> String.valueOf(2 * i))
                + join("_1#", ",", n, i -> String.valueOf(2 * i + 1))),
        new Shape("cputune", "range pins joined by , (0-1#0-1,2-3#2-3,...)",
            n -> join("", ",", n, i -> (2 * i) + "-" + (2 * i + 1) + "#" + (2 * i) + "-" + (2 * i + 1))),
        new Shape("cputune", "one-to-one entries joined by , (0@0,1@1,...)",
            n -> join("", ",", n, i -> i + "@" + i)),
        new Shape("cputune", "one-to-one entries joined by _ (0@0_1@1_...)",
            n -> join("", "_", n, i -> i + "@" + i)),
        new Shape("cputune", "# and @ entries in turn by , (0#0,1@1,2#2,...)",
            n -> join("", ",", n, i -> i + (i % 2 == 0 ? "#" : "@") + i)),
        new Shape("cputune", "one @ entry, many sets (0-N@0:1:2:...)",
            n -> join("0-" + Math.max(n - 1, 0) + "@", ":", n, i -> String.valueOf(i))),
        new Shape("cputune", "one @ entry, many terms by , (0-N@0,1,2,...)",
            n -> join("0-" + Math.max(n - 1, 0) + "@", ",", n, i -> String.valueOf(i))),
        new Shape("emulatorpin", "many CPU terms (0,2,4,...)",
            n -> join("", ",", n, i -> String.valueOf(2 * i))),
        new Shape("iothreadpin", "thread#cpu joined by _ (1#0_2#1_...)",
            n -> join("", "_", n, i -> (i + 1) + "#" + i)),
        new Shape("iothreadpin", "thread#cpu joined by , (1#0,2#1,...)",
            n -> join("", ",", n, i -> (i + 1) + "#" + i)),
        new Shape("numatune", "many node terms (strict#0,2,4,...)",
            n -> join("strict#", ",", n, i -> String.valueOf(2 * i))),
        new Shape("numatune", "many exclusions (interleave#0-16383,^1,^3,...)",
            n -> join("interleave#0-16383,", ",", n, i -> "^" + (2 * i + 1))),
        new Shape("guestnuma", "cells joined by _ (0#1G_1#1G_...)",
            n -> join("", "_", n, i -> i + "#1G")),
        new Shape("guestnuma", "cells joined by , (0#1G,1#1G,...)",
            n -> join("", ",", n, i -> i + "#1G")),
        new Shape("guestnuma", "cells with nodes by , (0#1G#0,1#1G#1,...)",
            n -> join("", ",", n, i -> i + "#1G#" + i)),
        new Shape("guestnuma", "cells with nodes by _ (0#1G#0_1#1G#1_...)",
            n -> join("", "_", n, i -> i + "#1G#" + i)),
        new Shape("guestnuma", "one cell, many CPU terms (0,2,4,...#1G)",
            n -> join("", ",", n, i -> String.valueOf(2 * i)) + "#1G"),
        new Shape("guestnuma", "one cell, many node terms (0#1G#0,2,4,...)",
            n -> join("0#1G#", ",", n, i -> String.valueOf(2 * i))),
        new Shape("ksm_merge_across_nodes", "the longest allowed value (false)",
            n -> "false")
    );

    static Map<String, String> readRegexes(Path file) throws IOException {
        Map<String, String> regexes = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            int eq = line.indexOf('=');
            if (eq < 1) throw new IllegalArgumentException("not name=regex: " + line);
            regexes.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return regexes;
    }

    /** Matches on a new thread, whose stack is the JVM's -Xss, as a request thread's is. */
    static Outcome probe(Pattern pattern, String value) {
        Outcome[] result = new Outcome[1];
        Thread thread = new Thread(() -> {
            try {
                result[0] = pattern.matcher(value).matches() ? Outcome.MATCH : Outcome.NO_MATCH;
            } catch (StackOverflowError e) {
                result[0] = Outcome.OVERFLOW;
            }
        }, "probe");
        thread.start();
        try {
            thread.join();
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
        return result[0];
    }

    /** Largest n whose value is at most maxChars long. */
    static int unitsWithin(Shape shape, int maxChars) {
        int lo = 1, hi = 1;
        while (shape.value().apply(hi).length() <= maxChars && hi < (1 << 24)) hi *= 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (shape.value().apply(mid).length() <= maxChars) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    static int limits(Path file, int maxChars) throws IOException {
        Map<String, String> regexes = readRegexes(file);
        int problems = 0;
        System.out.printf("# java %s, %s, stack -Xss from the command line%n",
            System.getProperty("java.version"), System.getProperty("java.vm.info"));
        System.out.println("# property | shape | longest value that matched | first that overflowed");
        for (Shape shape : SHAPES) {
            String regex = regexes.get(shape.property());
            if (regex == null) continue;
            Pattern pattern = Pattern.compile(regex);
            // A value that does not grow with n is probed once.
            int top = shape.value().apply(1).equals(shape.value().apply(2)) ? 1 : unitsWithin(shape, maxChars);
            Outcome atTop = probe(pattern, shape.value().apply(top));
            String longest, overflow;
            if (atTop == Outcome.MATCH) {
                longest = describe(shape, top);
                overflow = "none up to " + maxChars + " chars";
            } else if (atTop == Outcome.NO_MATCH) {
                System.out.printf("%s | %s | REGEX REFUSES %s%n", shape.property(), shape.name(),
                    abbreviate(shape.value().apply(top)));
                problems++;
                continue;
            } else {
                // Bisect: lo matches, hi overflows.
                int lo = 1, hi = top;
                if (probe(pattern, shape.value().apply(lo)) != Outcome.MATCH) {
                    System.out.printf("%s | %s | REGEX REFUSES %s%n", shape.property(), shape.name(),
                        shape.value().apply(lo));
                    problems++;
                    continue;
                }
                while (hi - lo > 1) {
                    int mid = (lo + hi) / 2;
                    Outcome outcome = probe(pattern, shape.value().apply(mid));
                    if (outcome == Outcome.MATCH) lo = mid;
                    else if (outcome == Outcome.OVERFLOW) hi = mid;
                    else {
                        System.out.printf("%s | %s | REGEX REFUSES %s%n", shape.property(),
                            shape.name(), abbreviate(shape.value().apply(mid)));
                        problems++;
                        break;
                    }
                }
                longest = describe(shape, lo);
                overflow = describe(shape, hi);
            }
            System.out.printf("%s | %s | %s | %s%n", shape.property(), shape.name(), longest, overflow);
        }
        return problems == 0 ? 0 : 1;
    }

    static String describe(Shape shape, int n) {
        return n + " units, " + shape.value().apply(n).length() + " chars";
    }

    static String abbreviate(String value) {
        return value.length() <= 60 ? value : value.substring(0, 40) + "...(" + value.length() + " chars)";
    }

    /** The characters a property's values are made of, plus one stranger. */
    static String alphabet(String property) {
        return switch (property) {
            case "cputune" -> "01#@:,_^-";
            case "numatune" -> "01#,^-sa";
            case "guestnuma" -> "01#,_^-G";
            case "emulatorpin" -> "01,^-";
            case "iothreadpin" -> "01#,_^-";
            default -> "01tf";
        };
    }

    /** Valid-looking pieces, so that long random strings are mostly near-misses. */
    static final String[] TOKENS = {
        "0", "1", "12", "0-3", "^2", "#", ",", "_", "-", "G", "4G", "MiB", "strict#", "auto", "#0", ",1#", "_2#",
        "@", ":", "@0", ",1@", ":2", "0-1@",
    };

    static int agree(Path fileA, Path fileB) throws IOException {
        Map<String, String> a = readRegexes(fileA), b = readRegexes(fileB);
        int total = 0;
        Random random = new Random(12);
        for (String name : a.keySet()) {
            int disagreements = 0;
            if (!b.containsKey(name)) {
                System.out.println(name + ": missing from " + fileB);
                total++;
                continue;
            }
            Pattern pa = Pattern.compile(a.get(name)), pb = Pattern.compile(b.get(name));
            String letters = alphabet(name);
            long checked = 0, accepted = 0;
            List<String> strings = new ArrayList<>();
            strings.add("");
            for (int length = 1; length <= 7; length++) {
                List<String> next = new ArrayList<>();
                for (String s : strings) {
                    if (s.length() != length - 1) continue;
                    for (char c : letters.toCharArray()) next.add(s + c);
                }
                strings.addAll(next);
            }
            for (int i = 0; i < 200_000; i++) {
                StringBuilder sb = new StringBuilder();
                int pieces = 1 + random.nextInt(12);
                for (int p = 0; p < pieces; p++) sb.append(TOKENS[random.nextInt(TOKENS.length)]);
                strings.add(sb.toString());
            }
            for (String s : strings) {
                boolean ma = pa.matcher(s).matches(), mb = pb.matcher(s).matches();
                checked++;
                if (ma) accepted++;
                if (ma != mb) {
                    if (disagreements < 20) {
                        System.out.printf("%s: %s %s but %s %s \"%s\"%n", name, fileA.getFileName(),
                            ma ? "accepts" : "refuses", fileB.getFileName(), mb ? "accepts" : "refuses", s);
                    }
                    disagreements++;
                }
            }
            System.out.printf("%s: %d strings, %d accepted by both, %s%n", name, checked, accepted,
                disagreements == 0 ? "same answers" : disagreements + " DISAGREEMENTS");
            total += disagreements;
        }
        return total == 0 ? 0 : 1;
    }

    /**
     * The engine's own checks that run before a property's regex, rebuilt
     * from CustomPropertiesUtils: every value must match ([^;])*, and the
     * whole name=value;... string the property-set pattern.
     */
    static int engineSyntax(int maxChars) {
        String key = "[a-z_A-Z0-9]";
        String valueRegex = "([^;])*";
        String pair = "((" + key + ")+)=(([^;])*)";
        String setRegex = "(" + pair + "(;" + pair + ")*;?)?";
        Pattern value = Pattern.compile(valueRegex), set = Pattern.compile(setRegex);
        String pins = join("", "_", 100_000, i -> i + "#" + i).substring(0, maxChars);
        String many = join("", ";", 100_000, i -> "p" + i + "=" + i).substring(0, maxChars);
        many = many.substring(0, many.lastIndexOf(';'));
        Object[][] cases = {
            {"value pattern ([^;])* on a long cputune value", value, pins},
            {"property-set pattern on cputune=<long value>", set, "cputune=" + pins},
            {"property-set pattern on many short properties", set, many},
        };
        int problems = 0;
        for (Object[] c : cases) {
            Outcome outcome = probe((Pattern) c[1], (String) c[2]);
            System.out.printf("%s, %d chars: %s%n", c[0], ((String) c[2]).length(), outcome);
            if (outcome != Outcome.MATCH) problems++;
        }
        return problems == 0 ? 0 : 1;
    }

    /** Every value of the corpus, on one thread with the JVM's -Xss, as a request is served. */
    static int corpus(Path regexFile, Path corpusFile) throws IOException {
        Map<String, Pattern> patterns = new LinkedHashMap<>();
        List<String> uncompiled = new ArrayList<>();
        int[] problems = {0};
        readRegexes(regexFile).forEach((name, regex) -> {
            try {
                patterns.put(name, Pattern.compile(regex));
            } catch (PatternSyntaxException e) {
                System.out.printf("%s: java.util.regex cannot compile the regex: %s%n", name, e.getDescription());
                uncompiled.add(name);
                problems[0]++;
            }
        });
        List<String> lines = Files.readAllLines(corpusFile);
        Map<String, Integer> shown = new LinkedHashMap<>();
        Thread thread = new Thread(() -> {
            for (String line : lines) {
                if (line.isEmpty()) continue;
                String[] fields = line.split("\t", -1);
                Pattern pattern = fields.length == 3 ? patterns.get(fields[0]) : null;
                if (pattern == null || !(fields[1].equals("accept") || fields[1].equals("refuse"))) {
                    System.out.println("malformed corpus line: " + abbreviate(line));
                    problems[0]++;
                    continue;
                }
                String value = new String(HexFormat.of().parseHex(fields[2]), StandardCharsets.UTF_8);
                String answer;
                try {
                    // What String.matches does, without compiling again.
                    answer = pattern.matcher(value).matches() ? "accept" : "refuse";
                } catch (StackOverflowError e) {
                    answer = "overflow on";
                }
                if (!answer.equals(fields[1])) {
                    int count = shown.merge(fields[0], 1, Integer::sum);
                    if (count <= 20) {
                        System.out.printf("%s: the backend would %s \"%s\", the parser would %s it%n",
                            fields[0], answer, abbreviate(value), fields[1]);
                    }
                    problems[0]++;
                }
            }
        }, "request");
        thread.start();
        try {
            thread.join();
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
        System.out.printf("java %s, %s: %d values, %d problems%n", System.getProperty("java.version"),
            System.getProperty("java.vm.info"), lines.size(), problems[0]);
        return problems[0] == 0 ? 0 : 1;
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("corpus")) {
            System.exit(corpus(Path.of(args[1]), Path.of(args[2])));
        }
        if (args.length == 2 && args[0].equals("engine-syntax")) {
            System.exit(engineSyntax(Integer.parseInt(args[1])));
        }
        if (args.length == 3 && args[0].equals("limits")) {
            System.exit(limits(Path.of(args[1]), Integer.parseInt(args[2])));
        } else if (args.length == 3 && args[0].equals("agree")) {
            System.exit(agree(Path.of(args[1]), Path.of(args[2])));
        }
        System.err.println("usage: RegexDepth limits REGEXES MAX_CHARS | agree REGEXES_A REGEXES_B"
            + " | engine-syntax MAX_CHARS | corpus REGEXES CORPUS");
        System.exit(64);
    }
}
