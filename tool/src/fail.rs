//! Every way a command fails, and the one place that turns a failure into the diagnostic
//! `quiver: <QV_STATUS>: <message>` on stderr and the exit code of TOOLS.md.

use std::process::ExitCode;

/// A failed command.
#[derive(Debug)]
pub enum Fail {
    /// The engine's error, with the engine's message.
    Engine(quiver::Error),
    /// The input of import or load is rejected (exit 5).
    Rejected(String),
    /// The data is damaged or of an unknown format (exit 3).
    Data(String),
    /// A file the tool reads or writes itself failed (exit 1).
    Io(String),
    /// The command cannot be run (exit 1).
    Misuse(String),
    /// The arguments are wrong in a way clap cannot see (exit 2).
    Usage(String),
    /// A bug in the tool (exit 1).
    Internal(String),
}

impl From<quiver::Error> for Fail {
    fn from(e: quiver::Error) -> Fail {
        Fail::Engine(e)
    }
}

impl Fail {
    /// An I/O failure on `path` while doing `what`.
    pub fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Fail {
        Fail::Io(format!("{what} {}: {e}", path.display()))
    }

    /// The status name and exit code.
    fn status(&self) -> (&'static str, u8) {
        use quiver::Error as E;
        match self {
            Fail::Engine(e) => match e {
                E::Locked(_) => ("QV_LOCKED", 4),
                E::Busy(_) => ("QV_BUSY", 4),
                E::Corrupt(_) => ("QV_CORRUPT", 3),
                E::Format(_) => ("QV_FORMAT", 3),
                E::NotFound(_) => ("QV_NOT_FOUND", 1),
                E::InvalidArgument(_) => ("QV_INVALID_ARGUMENT", 1),
                E::Misuse(_) => ("QV_MISUSE", 1),
                E::ReadOnly(_) => ("QV_READ_ONLY", 1),
                E::Constraint(_) => ("QV_CONSTRAINT", 1),
                E::Io { .. } => ("QV_IO", 1),
                E::Full { .. } => ("QV_FULL", 1),
                E::Poisoned(_) => ("QV_POISONED", 1),
                E::Internal(_) => ("QV_INTERNAL", 1),
                E::Interrupted(_) => ("QV_INTERRUPTED", 1),
            },
            Fail::Rejected(_) => ("QV_INVALID_ARGUMENT", 5),
            Fail::Data(_) => ("QV_CORRUPT", 3),
            Fail::Io(_) => ("QV_IO", 1),
            Fail::Misuse(_) => ("QV_MISUSE", 1),
            Fail::Usage(_) => ("QV_INVALID_ARGUMENT", 2),
            Fail::Internal(_) => ("QV_INTERNAL", 1),
        }
    }

    fn message(&self) -> String {
        match self {
            Fail::Engine(e) => e.to_string(),
            Fail::Rejected(m)
            | Fail::Data(m)
            | Fail::Io(m)
            | Fail::Misuse(m)
            | Fail::Usage(m)
            | Fail::Internal(m) => m.clone(),
        }
    }

    /// Prints the diagnostic and returns the exit code.
    pub fn report(self) -> ExitCode {
        let (status, code) = self.status();
        eprintln!("quiver: {status}: {}", self.message());
        ExitCode::from(code)
    }
}
