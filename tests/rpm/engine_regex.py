"""Checks the regexes of the printed engine-config command against the
README's example values and against broken ones.

The engine matches a value with Java's String.matches (the whole value);
re.fullmatch with re.ASCII is the same for the subset of syntax the project
keeps to (\\d, \\w are ASCII in Java).

usage: engine_regex.py README.md [docs/*.md] < output of `vdsm-hook-largeguest engine-config --cver X.Y`
       engine_regex.py --examples    (prints the README's examples as NAME=VALUE lines)
"""

import re
import shlex
import sys

# Values the README shows; each must be written there verbatim.
GOOD = {
    "cputune": [
        "0#0_1#1_2#2_3#3",
        "0#0,1#1-3,^2,2#4",
        "0-3#0-7",
        "0-31@0-31",
        "0-383@0-191:192-383",
        "0#0_1#1_2#2_3#3_4#4_5#5_6#6_7#7_8#8_9#9_10#10_11#11_12#12_13#13_14#14_15#15"
        "_16#16_17#17_18#18_19#19_20#20_21#21_22#22_23#23_24#24_25#25_26#26_27#27"
        "_28#28_29#29_30#30_31#31",
    ],
    "numatune": ["strict#0-1", "interleave#0,1", "preferred#1", "0", "auto"],
    "guestnuma": [
        "0-15#128G#0,16-31#128G#1",
        "0-3#4G#0,2_4-7#4G#1,3",
        "0-3,8-11#4194304,4-7,12-15#4194304",
        "2",
    ],
    "emulatorpin": ["0-1", "0,48", "0-3,^2"],
    "iothreadpin": ["1#0_2#48", "1-2#0,48", "1#0,2#1"],
    "pci_numa_affinity": ["required", "preferred"],
    "ksm_merge_across_nodes": ["0", "1", "true", "false"],
}

BAD = {
    "cputune": [
        "", "0", "#0", "0#", "0-#1", "a#1", "0#1,", "0#1__1#2", "0 #1", "0:1", "0#0;1#1",
        "0@", "0@1:", "0-3@0-1::2", "0@1#2", "0#1:2",
    ],
    "numatune": ["", "strict", "strict#", "strictly#0", "strict#a", "#0", "strict:0-1", "auto#0"],
    "guestnuma": ["", "0-15", "0-15#", "#128G", "0-15#128X", "0-15#128G#", "0-15#-1G", "0-15#128 G", "x"],
    "emulatorpin": ["", "0#1", "0-", "a", "0,,1", "0 1"],
    "iothreadpin": ["", "1", "1#", "#0", "1#0__2#1", "1:0"],
    "pci_numa_affinity": ["", "Required", "legacy", "required "],
    "ksm_merge_across_nodes": ["", "2", "yes", "True ", "01"],
}


def properties(command):
    words = shlex.split(command)
    assert words[:2] == ["engine-config", "-s"], f"not an engine-config -s command: {command!r}"
    setting = next(w for w in words if w.startswith("UserDefinedVMProperties="))
    value = setting.split("=", 1)[1]
    return dict(entry.split("=", 1) for entry in value.split(";"))


def main():
    if sys.argv[1] == "--examples":
        for name, values in GOOD.items():
            for value in values:
                print(f"{name}={value}")
        return 0
    # The README and the pages of docs/: the examples may be on any of them.
    readme = "".join(open(path, encoding="utf-8").read() for path in sys.argv[1:])
    # The command is the one line that is not a comment for the reader.
    lines = [line for line in sys.stdin.read().splitlines() if line.startswith("engine-config ")]
    if len(lines) != 1:
        print(f"expected one engine-config line, found {len(lines)}")
        return 1
    command = lines[0]
    props = properties(command)
    failures = []
    if "--cver=" not in command and "--cver " not in command:
        failures.append(f"no --cver in {command!r}")
    for name in GOOD:
        if name not in props:
            failures.append(f"{name}: not declared in {command!r}")
            continue
        regex = re.compile(props[name], re.ASCII)
        for value in GOOD[name]:
            if value not in readme:
                failures.append(f"{name}: example {value!r} is not in the README")
            if not regex.fullmatch(value):
                failures.append(f"{name}: regex {props[name]!r} refuses {value!r}")
        for value in BAD[name]:
            if regex.fullmatch(value):
                failures.append(f"{name}: regex {props[name]!r} accepts broken {value!r}")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
