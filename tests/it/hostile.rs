//! Hostile input, through the executable as VDSM runs it: property values
//! that try to become XML, documents built to exhaust the parser, files that
//! are not what `_hook_domxml` promises, and the test-only variables a VM
//! property could shadow. Each case ends in exit 2 with one line and the
//! file as it was, or, for a legitimate document, in the correct edit.
//! (tests/it/hook_protocol.rs already covers DOCTYPE, non-UTF-8, empty files,
//! a directory, a read-only folder and planted temporary names.)

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::scene::Scene;
use crate::support::{backdate, copy_executable, is_root, program, BIN, HANG_GUARD};
use vdsm_hook_largeguest::commands::environment::OVERRIDES_MARKER;
use vdsm_hook_largeguest::commands::rewrite::rewrite;
use vdsm_hook_largeguest::host::paths;
use vdsm_hook_largeguest::properties::Request;
use vdsm_hook_largeguest::properties::{cputune, numatune};
use vdsm_hook_largeguest::wording::is_clean_message;

const DOMAIN: &str = "<domain type='kvm'>
  <name>hostile</name>
  <memory unit='KiB'>4194304</memory>
  <vcpu>4</vcpu>
  <cpu>
    <numa>
      <cell id='0' cpus='0-3' memory='4194304' unit='KiB'/>
    </numa>
  </cpu>
</domain>
";

/// The one line a refusal prints, checked for being one clean line.
fn refusal(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(out.stdout.is_empty());
    let text = stderr(out);
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    let line = text.trim_end_matches('\n');
    assert!(line.starts_with("vdsm-hook-largeguest: "), "{line}");
    assert!(
        is_clean_message(line),
        "not one line of ASCII with one quote kind: {line:?}"
    );
    assert!(line.len() < 1024, "{} bytes: {line:.200}", line.len());
    line.to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Refused, with `message` in the line, and the folder exactly as it was.
fn refused(scene: &Scene, out: &Output, message: &str, before: &[u8]) {
    let line = refusal(out);
    assert!(line.contains(message), "expected {message:?} in {line}");
    assert_eq!(
        fs::read(scene.domxml()).unwrap(),
        before,
        "the file must be untouched"
    );
    assert_eq!(
        scene.files_in_vm(),
        ["domxml"],
        "no temporary file may remain"
    );
}

/// Text that would close the attribute or element a value is written into,
/// open a new one, or break the line a message is printed on.
const INJECTIONS: &[&str] = &[
    "'",
    "\"",
    "<",
    ">",
    "&",
    "]]>",
    "&amp;",
    "\n",
    "\r",
    "\t",
    "\u{1}",
    "\u{1b}[2J",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "'/><vcpupin vcpu='1' cpuset='0-63",
    "\"/><vcpupin vcpu=\"1\" cpuset=\"0-63",
    "</numatune><numatune><memory mode='strict' nodeset='5'/>",
    "<!-- -->",
    "<![CDATA[x]]>",
];

/// Valid values, and places in them where the injected text goes.
const PROPERTIES: &[(&str, &str)] = &[
    ("cputune", "0#0,1#1"),
    ("numatune", "strict#0"),
    ("numatune", "auto"),
    ("guestnuma", "0-1#2G#0,2-3#2G#1"),
    ("guestnuma", "2"),
];

fn injected(value: &str, text: &str) -> Vec<String> {
    let middle = value.len() / 2;
    vec![
        format!("{text}{value}"),
        format!("{}{text}{}", &value[..middle], &value[middle..]),
        format!("{value}{text}"),
    ]
}

#[test]
fn xml_injected_through_any_property_is_refused_by_its_grammar() {
    let scene = Scene::new(DOMAIN.as_bytes());
    let before = DOMAIN.as_bytes();
    for (property, value) in PROPERTIES {
        assert_eq!(
            scene
                .run(&[(property, value)])
                .output()
                .unwrap()
                .status
                .code(),
            Some(0)
        );
        fs::write(scene.domxml(), before).unwrap();
        for text in INJECTIONS {
            for hostile in injected(value, text) {
                let out = scene.run(&[(property, &hostile)]).output().unwrap();
                refused(&scene, &out, &format!(": {property}: "), before);
            }
        }
    }
}

/// The grammar refuses before the document is even opened: with no file
/// at all, the message is still the property's.
#[test]
fn a_hostile_value_is_refused_before_the_document_is_read() {
    let scene = Scene::new(DOMAIN.as_bytes());
    fs::remove_file(scene.domxml()).unwrap();
    for (property, value) in PROPERTIES {
        let out = scene
            .run(&[(property, &format!("{value}'/><x a='"))])
            .output()
            .unwrap();
        let line = refusal(&out);
        assert!(line.contains(&format!(": {property}: ")), "{line}");
        assert!(!scene.domxml().exists());
    }
}

#[test]
fn the_ksm_property_refuses_injection_and_never_reads_sysfs() {
    let scene = Scene::new(DOMAIN.as_bytes());
    let ksm = scene.dir.join("sys/kernel/mm/ksm");
    fs::create_dir_all(&ksm).unwrap();
    fs::write(ksm.join("merge_across_nodes"), "1\n").unwrap();
    fs::write(ksm.join("run"), "1\n").unwrap();
    fs::set_permissions(
        ksm.join("merge_across_nodes"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    for text in INJECTIONS {
        for hostile in injected("0", text) {
            let value = OsStr::new(&hostile);
            let out = scene
                .hook("60_largeguest_ksm", &[("ksm_merge_across_nodes", value)])
                .output()
                .unwrap();
            let line = refusal(&out);
            assert!(line.contains(": ksm_merge_across_nodes: "), "{line}");
        }
    }
    // Not UTF-8 and long: still one short line.
    let mut raw = vec![0xffu8; 100_000];
    raw.extend_from_slice(b"0");
    let out = scene
        .hook(
            "60_largeguest_ksm",
            &[("ksm_merge_across_nodes", OsStr::from_bytes(&raw))],
        )
        .output()
        .unwrap();
    refusal(&out);
    assert!(!ksm.join("vdsm-hook-largeguest-ksm.lock").exists());
    assert_eq!(fs::read_to_string(ksm.join("run")).unwrap(), "1\n");
}

/// The entity points at a FIFO no one writes to: had the hook opened it,
/// it would hang until the timeout instead of refusing at once.
#[test]
fn external_entities_are_never_fetched() {
    let scene = Scene::new(b"");
    let fifo = scene.dir.join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let url = format!("file://{}", fifo.display());
    for doc in [
        format!(
            "<!DOCTYPE domain [<!ENTITY x SYSTEM \"{url}\">]><domain><vcpu>1</vcpu>&x;</domain>"
        ),
        format!("<!DOCTYPE domain SYSTEM \"{url}\"><domain><vcpu>1</vcpu></domain>"),
        format!("<!DOCTYPE domain [<!ENTITY % p SYSTEM \"{url}\"> %p;]><domain/>"),
        format!("<?xml version='1.0'?>\n<!DOCTYPE domain PUBLIC \"-//x//y\" \"{url}\">\n<domain/>"),
    ] {
        fs::write(scene.domxml(), &doc).unwrap();
        let out = scene
            .hook("50_largeguest", &[("cputune", OsStr::new("0#0"))])
            .timeout(HANG_GUARD)
            .output()
            .unwrap();
        refused(&scene, &out, "it has a DOCTYPE", doc.as_bytes());
    }
}

#[test]
fn entity_expansion_bombs_are_refused_without_expanding() {
    let mut bomb = String::from("<!DOCTYPE domain [<!ENTITY a0 \"lol\">");
    for level in 1..=10 {
        let previous = format!("&a{};", level - 1).repeat(10);
        bomb.push_str(&format!("<!ENTITY a{level} \"{previous}\">"));
    }
    bomb.push_str("]><domain><vcpu>1</vcpu><name>&a10;</name></domain>");
    let scene = Scene::new(bomb.as_bytes());
    // Refused at the DOCTYPE, before any parser could expand an entity; a
    // run that expanded a billion of them would not end within HANG_GUARD.
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    refused(&scene, &out, "it has a DOCTYPE", bomb.as_bytes());
    // Without a DTD an entity reference names nothing.
    let undefined = b"<domain><vcpu>1</vcpu><name>&a10;</name></domain>";
    fs::write(scene.domxml(), undefined).unwrap();
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    refused(&scene, &out, "not well-formed", undefined);
}

/// Deep nesting where libvirt allows any XML (metadata) is a legitimate
/// document: edited, and the nesting kept byte for byte.
#[test]
fn ten_thousand_levels_of_nesting_are_edited_correctly() {
    let depth = 10_000;
    let deep = format!(
        "{}{}",
        "<m:a xmlns:m='urn:x'>".repeat(depth),
        "</m:a>".repeat(depth)
    );
    let doc = format!("<domain type='kvm'><vcpu>2</vcpu><metadata>{deep}</metadata></domain>");
    let scene = Scene::new(doc.as_bytes());
    let out = scene.run(&[("cputune", "0#0,1#1")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = doc.replace(
        "<vcpu>2</vcpu>",
        "<vcpu>2</vcpu><cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/></cputune>",
    );
    assert!(fs::read_to_string(scene.domxml()).unwrap() == expected);
    // Unbalanced at that depth: refused, not a stack overflow.
    let broken = format!("<domain><vcpu>2</vcpu>{}</domain>", "<a>".repeat(depth));
    fs::write(scene.domxml(), &broken).unwrap();
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    refused(&scene, &out, "not well-formed", broken.as_bytes());
}

/// Writes the document with a huge attribute in chunks, so that neither the
/// generator nor the check holds it in memory.
fn huge_document(out: &mut impl Write, attribute_len: usize, pinned: bool) -> std::io::Result<()> {
    out.write_all(b"<domain type='kvm'><vcpu>1</vcpu>")?;
    if pinned {
        out.write_all(b"<cputune><vcpupin vcpu='0' cpuset='0'/></cputune>")?;
    }
    out.write_all(b"<metadata><big value='")?;
    let chunk = [b'A'; 64 * 1024];
    let mut left = attribute_len;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n])?;
        left -= n;
    }
    out.write_all(b"'/></metadata></domain>\n")
}

/// A `Write` that compares what it is given with a file, chunk by chunk.
struct SameAs<R: Read> {
    file: R,
    offset: u64,
}

impl<R: Read> Write for SameAs<R> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut got = vec![0; buf.len()];
        self.file.read_exact(&mut got)?;
        assert!(
            got == buf,
            "the file differs within bytes {} to {}",
            self.offset,
            self.offset + buf.len() as u64
        );
        self.offset += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_100_mb_attribute_is_edited_correctly() {
    let size = 100 * 1024 * 1024;
    let scene = Scene::new(b"");
    let mut file = BufWriter::new(File::create(scene.domxml()).unwrap());
    huge_document(&mut file, size, false).unwrap();
    file.into_inner().unwrap().sync_all().unwrap();
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written = File::open(scene.domxml()).unwrap();
    huge_document(
        &mut SameAs {
            file: &mut written,
            offset: 0,
        },
        size,
        true,
    )
    .unwrap();
    assert_eq!(written.read(&mut [0; 1]).unwrap(), 0, "trailing bytes");
    assert_eq!(scene.files_in_vm(), ["domxml"]);
    fs::remove_file(scene.domxml()).unwrap();
}

#[test]
fn utf16_documents_are_refused_as_not_utf8() {
    for bom in [[0xff, 0xfe], [0xfe, 0xff]] {
        let mut doc = bom.to_vec();
        for unit in DOMAIN.encode_utf16() {
            let bytes = if bom[0] == 0xff {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            };
            doc.extend_from_slice(&bytes);
        }
        let scene = Scene::new(&doc);
        let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
        refused(
            &scene,
            &out,
            "is not UTF-8 text (bad byte at offset 0)",
            &doc,
        );
    }
}

/// A UTF-8 byte order mark is legal XML: the edit keeps it.
#[test]
fn a_utf8_bom_is_kept_and_the_document_edited() {
    let doc = format!("\u{feff}{DOMAIN}");
    let scene = Scene::new(doc.as_bytes());
    let out = scene.run(&[("numatune", "strict#1")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = doc.replace(
        "  <vcpu>4</vcpu>\n",
        "  <vcpu>4</vcpu>\n  <numatune>\n    <memory mode='strict' nodeset='1'/>\n  </numatune>\n",
    );
    assert_eq!(fs::read_to_string(scene.domxml()).unwrap(), expected);
}

#[test]
fn a_dangling_symlink_is_refused_and_left_dangling() {
    let scene = Scene::new(b"");
    let target = scene.dir.join("nowhere/domxml");
    fs::remove_file(scene.domxml()).unwrap();
    symlink(&target, scene.domxml()).unwrap();
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    let line = refusal(&out);
    assert!(line.contains("cannot read the domain XML"), "{line}");
    assert!(fs::symlink_metadata(scene.domxml())
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!target.exists() && !scene.dir.join("nowhere").exists());
    assert_eq!(scene.files_in_vm(), ["domxml"]);
}

/// The edit replaces the name, never writes through it: whatever a symlink
/// at `_hook_domxml` points to stays as it was.
#[test]
fn a_symlinked_domxml_never_has_its_target_written() {
    let scene = Scene::new(b"");
    let target = scene.dir.join("elsewhere.xml");
    fs::write(&target, DOMAIN).unwrap();
    fs::remove_file(scene.domxml()).unwrap();
    symlink(&target, scene.domxml()).unwrap();
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&target).unwrap(), DOMAIN);
    assert!(fs::symlink_metadata(scene.domxml()).unwrap().is_file());
    assert!(fs::read_to_string(scene.domxml())
        .unwrap()
        .contains("<vcpupin vcpu='0' cpuset='0'/>"));
}

/// Root reads any file, so as root the hook runs as `nobody` (through
/// setpriv), the unprivileged user VDSM would be.
#[test]
fn an_unreadable_domxml_is_refused_and_kept() {
    let scene = Scene::new(DOMAIN.as_bytes());
    fs::set_permissions(&scene.dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(scene.domxml(), fs::Permissions::from_mode(0o000)).unwrap();
    let out = if is_root() {
        let own_copy = scene.dir.join("own-copy");
        copy_executable(&own_copy);
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&own_copy)
            .args(["hook", "before_vm_start"])
            .env_clear()
            .env("_hook_domxml", scene.domxml())
            .env("cputune", "0#0")
            .output()
            .unwrap()
    } else {
        scene.run(&[("cputune", "0#0")]).output().unwrap()
    };
    let line = refusal(&out);
    assert!(
        line.contains("cannot read the domain XML") && line.contains("ermission denied"),
        "{line}"
    );
    fs::set_permissions(scene.domxml(), fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(fs::read_to_string(scene.domxml()).unwrap(), DOMAIN);
    assert_eq!(scene.files_in_vm(), ["domxml"]);
}

/// Every file under `root` with its bytes, mode and modification time.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>, u32, std::time::SystemTime)> {
    let mut all = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let bytes = if meta.is_file() {
                fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            all.push((
                path,
                bytes,
                meta.permissions().mode(),
                meta.modified().unwrap(),
            ));
        }
    }
    all.sort();
    all
}

const SECRET: &str = "SECRET-7f3a9c";

/// A tree the variables could point at, writable by anyone, with the files
/// the hook reads and KSM files that differ from any value a switch wants.
fn writable_tree(root: &Path, cpu_list: &str) {
    let files = [
        ("devices/system/cpu/online", cpu_list.to_string()),
        ("devices/system/node/has_memory", format!("{SECRET}\n")),
        ("devices/system/node/online", format!("{SECRET}\n")),
        ("kernel/mm/ksm/merge_across_nodes", "7\n".to_string()),
        ("kernel/mm/ksm/run", "7\n".to_string()),
        ("kernel/mm/ksm/pages_shared", "7\n".to_string()),
        ("meminfo", format!("{SECRET}\n")),
    ];
    for (name, text) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    }
}

#[test]
fn the_root_variables_only_make_the_rewrite_read_another_tree() {
    let scene = Scene::new(DOMAIN.as_bytes());
    let tree = scene.dir.join("tree");
    for cpu_list in [format!("{SECRET}\n"), "0-7\n".to_string()] {
        writable_tree(&tree, &cpu_list);
        backdate(&tree);
        let before = snapshot(&tree);
        for (entry, properties) in [
            (
                "50_largeguest",
                vec![("cputune", "0#0"), ("numatune", "strict#0")],
            ),
            ("50_largeguest", vec![("cputune", "9#0")]),
            ("50_largeguest_validate", vec![("cputune", "0#0")]),
        ] {
            fs::write(scene.domxml(), DOMAIN).unwrap();
            if !scene.dir.join(entry).exists() {
                crate::support::allow_test_variables();
                symlink(BIN, scene.dir.join(entry)).unwrap();
            }
            let properties: Vec<(&str, &OsStr)> = properties
                .iter()
                .map(|(n, v)| (*n, OsStr::new(v)))
                .collect();
            let out = scene
                .hook(entry, &properties)
                .env("LARGEGUEST_SYSFS_ROOT", &tree)
                .env("LARGEGUEST_PROCFS_ROOT", &tree)
                .output()
                .unwrap();
            let text = stderr(&out);
            assert!(!text.contains(SECRET), "a file's text was echoed: {text}");
            assert!(matches!(out.status.code(), Some(0 | 2)), "{text}");
            assert_eq!(snapshot(&tree), before, "{entry} wrote into the tree");
        }
    }
}

/// `LARGEGUEST_MOM_CONF` makes the KSM entry read another MoM
/// configuration, its policies and its socket: it only reads them, never
/// repeats their text, and where that MoM manages KSM it writes nothing.
#[test]
fn the_mom_variable_only_makes_the_ksm_entry_read_another_configuration() {
    let scene = Scene::new(b"");
    let tree = scene.dir.join("tree");
    writable_tree(&tree, "0-7\n");
    let policies = tree.join("mom.d");
    fs::create_dir_all(&policies).unwrap();
    fs::write(
        policies.join("03-ksm.policy"),
        format!("{SECRET}\n(Host.Control \"ksm_merge_across_nodes\" 1)\n(set ksmMergeAcrossNodes {SECRET})\n"),
    )
    .unwrap();
    // A socket path that is a plain file: the call fails, and the kernel's
    // value stands in for the cluster's.
    fs::write(tree.join("sock"), SECRET).unwrap();
    let policy = policies.join("03-ksm.policy");
    for conf in [
        format!(
            "[main]\ncontrollers: KSM\npolicy-dir: {}\nrpc-port: {}\n{SECRET}\n",
            policies.display(),
            tree.join("sock").display()
        ),
        format!(
            "{SECRET}\n[main]\ncontrollers: KSM, {SECRET}\npolicy: {}\nrpc-port: {SECRET}\n",
            policy.display()
        ),
    ] {
        fs::write(tree.join("mom.conf"), conf).unwrap();
        let before = snapshot(&tree);
        for wanted in ["0", "1"] {
            let out = program()
                .args(["hook", "ksm"])
                .env("LARGEGUEST_SYSFS_ROOT", &tree)
                .env("LARGEGUEST_PROCFS_ROOT", &tree)
                .env("LARGEGUEST_MOM_CONF", tree.join("mom.conf"))
                .env("ksm_merge_across_nodes", wanted)
                .env_remove("SUDO_ASKPASS")
                .timeout(HANG_GUARD)
                .output()
                .unwrap();
            let text = stderr(&out);
            assert!(!text.contains(SECRET), "a file's text was echoed: {text}");
            assert!(matches!(out.status.code(), Some(0 | 2)), "{text}");
            assert_eq!(snapshot(&tree), before, "the KSM entry wrote into the tree");
        }
    }
}

/// `ksm-switch` runs as root through sudo: pointed at a writable tree, it
/// must neither write there nor read there. The files it would read are
/// FIFOs no one writes to, so a read would hang until the timeout.
#[test]
fn ksm_switch_ignores_the_root_variables() {
    let scene = Scene::new(b"");
    let tree = scene.dir.join("tree");
    writable_tree(&tree, "0-7\n");
    for name in [
        "kernel/mm/ksm/merge_across_nodes",
        "kernel/mm/ksm/run",
        "meminfo",
        "mom.conf",
    ] {
        let _ = fs::remove_file(tree.join(name));
        let status = std::process::Command::new("mkfifo")
            .arg(tree.join(name))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let before = snapshot(&tree);
    // Ask for the value the real host already has, so the real KSM never moves.
    let real = fs::read_to_string("/sys/kernel/mm/ksm/merge_across_nodes").unwrap_or_default();
    let value = if real.trim() == "0" { "0" } else { "1" };
    let out = program()
        .args(["ksm-switch", value])
        .env("LARGEGUEST_SYSFS_ROOT", &tree)
        .env("LARGEGUEST_PROCFS_ROOT", &tree)
        .env("LARGEGUEST_MOM_CONF", tree.join("mom.conf"))
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    let text = stderr(&out);
    assert!(
        out.status.code().is_some(),
        "killed, so it opened a FIFO: {text}"
    );
    assert!(!text.contains(&*tree.to_string_lossy()), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert_eq!(snapshot(&tree), before, "ksm-switch touched the tree");
}

/// Regressions found by the `rewrite` fuzz target (see docs/testing.md): each
/// document was edited once, then a second run with the same values
/// changed it again.
#[test]
fn fuzz_found_documents_reach_a_fixed_point() {
    let cases = [
        // No child element to learn the layout from.
        ("<domain>u\n</domain>", "", "strict#0"),
        ("<domain>\n</domain>", "", "strict#0"),
        // xmlns="" is no namespace: the edit's own <numatune> was not found
        // again and a second one was added.
        ("<domain xmlns=\"\">></domain>", "", "auto"),
        (
            "<domain xmlns=''>\n  <vcpu>2</vcpu>\n  <cputune xmlns=''/>\n</domain>",
            "0#0",
            "0",
        ),
        // A lone CR before the line break the edit writes made a CRLF.
        ("<domain>>\n\r</domain>", "", "auto"),
        // The first child shares its line with text: new elements stay on one
        // line and must not take the indentation of the line they land on.
        (
            "<domain type='qemu'>\n \"<name>g</name>\n  <vcpu>2</vcpu>\n  <os/>\n</domain>",
            "0#0,1#1",
            "strict#0",
        ),
    ];
    for (doc, pins, memory) in cases {
        let request = Request {
            cputune: (!pins.is_empty()).then(|| cputune::parse(pins).unwrap()),
            numatune: Some(numatune::parse(memory).unwrap()),
            ..Request::default()
        };
        let first = rewrite(doc, &request, None).unwrap().text();
        let second = rewrite(&first, &request, None).unwrap().text();
        assert_eq!(second, first, "from {doc:?}");
    }
}

/// Found by the `rewrite` fuzz target: roxmltree quotes the offending byte
/// raw, and an ESC in a tag reached the log and the terminal.
#[test]
fn control_characters_in_a_broken_document_are_escaped_in_the_message() {
    let doc = b"<domain type='kvm'><vcpu>1</vcpu><a b=\x1b[2J'x'/></domain>";
    let scene = Scene::new(doc);
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    refused(&scene, &out, "expected a quote not '\\u{1b}'", doc);
}

/// Found with the `xmlns=""` case: a <domain> in a namespace is not one
/// libvirt reads (it finds no <name>), and the hook would not find the
/// elements it wrote, so it refuses it.
#[test]
fn a_domain_in_a_namespace_is_refused() {
    let doc = b"<domain xmlns='http://libvirt.org/schemas/domain'><vcpu>2</vcpu></domain>";
    let scene = Scene::new(doc);
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    refused(
        &scene,
        &out,
        "root element is <domain xmlns='http://libvirt.org/schem...'>, expected <domain> with no xmlns",
        doc,
    );
}

/// Found by the `rewrite` fuzz target: roxmltree's message quotes tag
/// names, and an unclosed tag with a long name made a line as long.
#[test]
fn a_long_tag_name_in_a_broken_document_does_not_make_a_long_message() {
    let doc = format!("<domain><vcpu>1</vcpu><{}></domain>", "n".repeat(5000));
    let scene = Scene::new(doc.as_bytes());
    let out = scene.run(&[("cputune", "0#0")]).output().unwrap();
    refused(&scene, &out, "not well-formed at line 1", doc.as_bytes());
}
/// A program outside a build folder, as a package installs it (no
/// `largeguest-test-overrides` beside it), reads the real host whatever the
/// test variables say: a VM property of one of their names changes nothing.
/// With the marker beside the same copy they count, so the check can fail.
#[test]
fn a_program_without_the_marker_ignores_every_test_variable() {
    let dir = std::env::temp_dir().join(format!("largeguest-installed-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let program = dir.join("vdsm-hook-largeguest");
    fs::copy(BIN, &program).unwrap();
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sysfs/epyc-nps4");
    let nowhere = dir.join("nowhere");
    let run = |variables: bool, args: &[&str]| {
        let mut command = std::process::Command::new(&program);
        command.args(args).env_clear();
        if variables {
            for variable in paths::VARIABLES {
                command.env(variable, &nowhere);
            }
            command.env(paths::SYSFS_ROOT_VARIABLE, &fake);
        }
        let out = command.output().unwrap();
        (out.status.code(), out.stdout, out.stderr)
    };
    // Free memory and free pages move between two runs on a busy host;
    // the layout (nodes, CPUs, distances) does not.
    let real = run(false, &["topology"]);
    let ignored = run(true, &["topology"]);
    assert_eq!(ignored.0, real.0);
    assert_eq!(
        layout(&ignored.1),
        layout(&real.1),
        "the fake sysfs was read"
    );
    let numad = run(true, &["check", "numatune=auto"]);
    assert!(!String::from_utf8_lossy(&numad.2).contains("nowhere"));
    fs::write(dir.join(OVERRIDES_MARKER), "").unwrap();
    let faked = run(true, &["topology"]);
    assert_ne!(
        layout(&faked.1),
        layout(&real.1),
        "with the marker the variables count"
    );
    assert!(
        String::from_utf8_lossy(&faked.1).contains("node 7"),
        "{faked:?}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// `topology`'s output with every amount of memory or pages blanked.
fn layout(stdout: &[u8]) -> String {
    let amounts = regex::Regex::new(r"[0-9.]+ ?[KMGT]iB|[0-9]+ free of [0-9]+").unwrap();
    amounts
        .replace_all(&String::from_utf8_lossy(stdout), "#")
        .into_owned()
}
