//! What the load benchmarks share: a release build with the open-file limit raised, and a
//! process's memory read from procfs.

/// For a benchmark of many connections: the open-file limit raised, `packages` built in
/// release; the folder of their binaries.
pub(crate) fn release_for_load(
    tools: &crate::tools::Tools,
    packages: &[&str],
) -> Result<std::path::PathBuf, String> {
    rlimit::increase_nofile_limit(u64::MAX)
        .map_err(|error| format!("cannot raise the open-file limit: {error}"))?;
    let mut cargo = tools.cargo();
    cargo.args(["build", "--locked", "--release"]);
    for package in packages {
        cargo.args(["--package", package]);
    }
    crate::run::status(&mut cargo)?;
    Ok(crate::project::target_dir().join("release"))
}

/// The process's resident set size in KiB.
pub(crate) fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("cannot read the server's status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in the server's status".to_owned())
}
