//! `airssys::process` under the test host: every command and environment variable checked as
//! the host checks them, then answered with the test's scripted output. Nothing is run.

use airssys_contract::CapabilityKind;

use super::scope;
use crate::process::{Command, Output};
use crate::{Error, Result};

/// A command as the component ran it, after its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RanCommand {
    /// The program, as given.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The environment it was given.
    pub env: Vec<(String, String)>,
    /// What was written to its standard input.
    pub stdin: Vec<u8>,
}

/// The scripted outputs and what ran.
#[derive(Default)]
pub(crate) struct Programs {
    scripts: Vec<(String, Vec<String>, Output)>,
    ran: Vec<RanCommand>,
}

impl Programs {
    pub(crate) fn add(&mut self, program: String, args: Vec<String>, output: Output) {
        self.scripts.push((program, args, output));
    }

    pub(crate) fn ran(&self) -> &[RanCommand] {
        &self.ran
    }
}

pub(crate) fn run(command: &Command) -> Result<Output> {
    let Some(scope) = scope::current() else {
        return Err(Error::unsupported(scope::no_host("airssys::process")));
    };
    let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
    let capabilities = &scope.guest.capabilities;
    capabilities
        .check_process(&command.program, &args, scope.guest.label())
        .map_err(|denial| Error::denied(denial.message))?;
    for (key, _) in &command.env {
        scope
            .guest
            .check(CapabilityKind::Env, key, None)
            .map_err(|denial| Error::denied(denial.message))?;
    }
    let mut programs = scope.host.programs.borrow_mut();
    programs.ran.push(RanCommand {
        program: command.program.clone(),
        args: command.args.clone(),
        env: command.env.clone(),
        stdin: command.stdin.clone(),
    });
    let scripted = programs
        .scripts
        .iter()
        .find(|(program, args, _)| *program == command.program && *args == command.args);
    let Some((_, _, output)) = scripted else {
        return Err(Error::not_found(format!(
            "cannot start `{}`: the test host has no output for `{}`; give one with TestHost::program",
            command.program,
            airssys_contract::command_line(&command.program, &args)
        )));
    };
    let mut output = output.clone();
    let max = command.max_output as usize;
    if output.stdout.len() > max || output.stderr.len() > max {
        output.stdout.truncate(max);
        output.stderr.truncate(max);
        output.truncated = true;
    }
    Ok(output)
}
