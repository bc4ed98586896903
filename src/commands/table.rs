//! The one list of the commands: the top help, the dispatch and the tests
//! of the help texts and the man page all read it.

use lexopt::Parser;

use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{apply, check, engine_config, hook, ksm, prepare, suggest, topology, verify};

/// One command of the executable.
pub struct Command {
    pub name: &'static str,
    /// Its lines in the top help: what follows its name, and what it does.
    pub synopsis: &'static [(&'static str, &'static str)],
    /// Reads the command's arguments after its name, and runs it.
    pub run: fn(&mut Parser) -> Result<ExitCode, Error>,
}

impl Command {
    /// Listed in the help; the others are for the hook's own use.
    pub fn is_listed(&self) -> bool {
        !self.synopsis.is_empty()
    }
}

/// In the order the top help lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "check",
        synopsis: &[(
            "[NAME=VALUE...]",
            "check property values, print them in canonical form",
        )],
        run: check::command,
    },
    Command {
        name: "engine-config",
        synopsis: &[(
            "[--cver X.Y|all] --current VALUE|--current-file FILE",
            "print the engine-config command declaring the properties",
        )],
        run: engine_config::command,
    },
    Command {
        name: "apply",
        synopsis: &[(
            "--domxml FILE [NAME=VALUE...] [--dry-run] [--diff]",
            "rewrite a domain XML as the hook would",
        )],
        run: apply::command,
    },
    Command {
        name: "hook",
        synopsis: &[(
            "before_vm_start|before_vm_migrate_destination|before_nic_hotplug|ksm",
            "run a hook job as VDSM would (environment and _hook_domxml)",
        )],
        run: hook::command,
    },
    Command {
        name: "ksm",
        synopsis: &[
            ("status", "show the host's KSM counters"),
            ("set 0|1 [--timeout S]", "switch merge_across_nodes safely"),
        ],
        run: ksm::command,
    },
    Command {
        name: "topology",
        synopsis: &[("[--json]", "show the host's NUMA topology")],
        run: topology::command,
    },
    Command {
        name: "suggest",
        synopsis: &[(
            "--vcpus N --memory SIZE [...]",
            "propose cputune, numatune and guestnuma values",
        )],
        run: suggest::command,
    },
    Command {
        name: "verify",
        synopsis: &[
            (
                "DOMAIN [--json]",
                "check a running guest against what it asked for",
            ),
            (
                "--all [--json] [--prometheus FILE]",
                "check every placed guest, the host at a glance",
            ),
        ],
        run: verify::command,
    },
    Command {
        name: "prepare",
        synopsis: &[(
            "PLAN.json... [--write ROOT | --check]",
            "the host configuration the planned guests need",
        )],
        run: prepare::command,
    },
    // What the ksm hook job runs as root through sudo.
    Command {
        name: "ksm-switch",
        synopsis: &[],
        run: ksm::privileged,
    },
];

/// The column where a command's description starts in the top help.
const DESCRIPTION_COLUMN: usize = 31;

/// The commands' lines of the top help: the description beside the
/// synopsis where it fits, else on the next line.
pub fn listing() -> String {
    let mut text = String::new();
    for command in COMMANDS {
        for (args, what) in command.synopsis {
            let synopsis = format!("  {} {args}", command.name);
            match synopsis.len() + 2 <= DESCRIPTION_COLUMN {
                true => text += &format!("{synopsis:DESCRIPTION_COLUMN$}{what}\n"),
                false => text += &format!("{synopsis}\n{:DESCRIPTION_COLUMN$}{what}\n", ""),
            }
        }
    }
    text
}

/// The command called `name`.
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|command| command.name == name)
}
