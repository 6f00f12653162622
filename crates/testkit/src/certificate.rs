//! A self-signed certificate for localhost in PEM files, for a TLS front (nginx, Trunk, the
//! demo's server) during development and tests: made with the `openssl` command (Debian's
//! `openssl` package), so that the xtask needs no crypto library of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate's PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate (`cert.pem`).
    pub cert: PathBuf,
    /// Its private key, PKCS #8 (`key.pem`).
    pub key: PathBuf,
}

/// The self-signed certificate for `localhost`, `127.0.0.1` and `::1` kept in `folder`
/// (`cert.pem`, `key.pem`): the one already there if it is valid for at least another day (so a
/// browser's exception for it still holds), else a new one valid for 90 days.
///
/// # Errors
///
/// The folder cannot be made, or `openssl` is missing or fails (its message).
///
/// # Examples
///
/// ```
/// let folder = tempfile::tempdir().unwrap();
/// let made = tidings_testkit::certificate::self_signed(folder.path()).unwrap();
/// let again = tidings_testkit::certificate::self_signed(folder.path()).unwrap();
/// assert_eq!(std::fs::read(&made.cert).unwrap(), std::fs::read(&again.cert).unwrap());
/// assert_eq!(tidings_testkit::certificate::fingerprint(&made.cert).unwrap().len(), 95);
/// ```
pub fn self_signed(folder: &Path) -> Result<Certificate, String> {
    std::fs::create_dir_all(folder)
        .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let certificate = Certificate { cert: folder.join("cert.pem"), key: folder.join("key.pem") };
    if certificate.key.is_file() && valid_for_a_day(&certificate.cert) {
        return Ok(certificate);
    }
    openssl(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "90",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-keyout",
            ])
            .arg(&certificate.key)
            .arg("-out")
            .arg(&certificate.cert),
    )?;
    Ok(certificate)
}

/// The SHA-256 fingerprint of the certificate in `cert`, as browsers show it (`AB:CD:…`).
///
/// # Errors
///
/// `openssl` is missing or cannot read the file.
pub fn fingerprint(cert: &Path) -> Result<String, String> {
    let output = openssl(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(cert),
    )?;
    // `sha256 Fingerprint=AB:CD:…`
    output
        .trim()
        .rsplit('=')
        .next()
        .map(str::to_owned)
        .ok_or_else(|| format!("openssl printed no fingerprint: {output}"))
}

/// Whether `cert` is a certificate valid for at least another day.
fn valid_for_a_day(cert: &Path) -> bool {
    cert.is_file()
        && Command::new("openssl")
            .args(["x509", "-noout", "-checkend", "86400", "-in"])
            .arg(cert)
            .output()
            .is_ok_and(|output| output.status.success())
}

/// Runs an `openssl` command: its standard output, or an error with its message.
fn openssl(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|error| {
        format!("cannot run openssl ({error}): install it (Debian: apt-get install openssl)")
    })?;
    if !output.status.success() {
        return Err(format!("openssl failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
