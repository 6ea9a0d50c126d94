//! The README says every command takes `--json`. This walks the binary's own command tree
//! (so a new command is covered the day it is added) and checks the claim for each leaf.

use std::process::Command;

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(path)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{path:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands listed under "Commands:" in a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

fn leaves(path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let text = help(&path);
    let children = subcommands(&text);
    if children.is_empty() {
        out.push((path, text));
        return;
    }
    for child in children {
        let mut next = path.clone();
        next.push(child);
        leaves(next, out);
    }
}

#[test]
fn every_command_takes_json() {
    let mut all = Vec::new();
    leaves(Vec::new(), &mut all);
    // The tree is walked, not empty: synth, match, eval, bench x4, log x6, mpc x3.
    assert!(all.len() >= 16, "only {} commands found", all.len());
    let missing: Vec<String> = all
        .iter()
        .filter(|(_, text)| !text.contains("--json"))
        .map(|(path, _)| path.join(" "))
        .collect();
    assert!(missing.is_empty(), "commands without --json: {missing:?}");
    // Diagnostics can be JSON lines too, on every command.
    assert!(all.iter().all(|(_, text)| text.contains("--log-format")));
}
