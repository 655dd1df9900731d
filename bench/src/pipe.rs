//! The context-switch floor: a round trip over two pipes to an echo
//! process (write 64 bytes, the echo reads and writes them back).
//!
//! The client starts its echo process itself, with the two pipes as the
//! echo's stdin and stdout; the echo says it is ready with one byte.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::error::{bail, Context, Result};
use crate::payload::{self, END_MARKER};
use crate::rtt::Request;

/// The byte an echo process writes once it runs.
const READY: u8 = b'R';

/// The client: owns the echo process and both ends of its pipes.
#[derive(Debug)]
pub struct PipeClient {
    echo: Child,
    to_echo: ChildStdin,
    from_echo: ChildStdout,
}

impl PipeClient {
    /// Starts the echo process (this program with `echo_args`) and waits
    /// until it runs.
    pub fn start(echo_args: &[String]) -> Result<Self> {
        let exe = std::env::current_exe().context("locate this program")?;
        let mut echo = Command::new(exe)
            .args(echo_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start the pipe echo")?;
        let to_echo = echo.stdin.take().expect("stdin is piped");
        let mut from_echo = echo.stdout.take().expect("stdout is piped");
        let mut ready = [0u8; 1];
        from_echo
            .read_exact(&mut ready)
            .context("wait for the pipe echo")?;
        if ready[0] != READY {
            bail!("the pipe echo said {:?}", ready[0]);
        }
        Ok(Self {
            echo,
            to_echo,
            from_echo,
        })
    }
}

impl Request for PipeClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        // Unbuffered pipe ends: one write, and one read (a write of at most
        // PIPE_BUF bytes is atomic).
        self.to_echo
            .write_all(request)
            .context("write to the echo")?;
        let answer = &mut reply[..request.len()];
        self.from_echo
            .read_exact(answer)
            .context("read from the echo")?;
        Ok(request.len())
    }
}

impl Drop for PipeClient {
    /// The echo exits after the end marker; this reaps it (or stops it if
    /// the measurement failed before).
    fn drop(&mut self) {
        if !matches!(self.echo.try_wait(), Ok(Some(_))) {
            let _ = self.echo.kill();
        }
        let _ = self.echo.wait();
    }
}

/// The echo process: reads `size`-byte messages from stdin and writes each
/// back to stdout, until the end marker (answered too).
pub fn echo(size: usize) -> Result<()> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    // Straight to the file descriptors: std's stdout buffers by lines,
    // which would split binary messages into several writes.
    let (input, output) = (stdin.as_fd(), stdout.as_fd());
    write_all(output, &[READY])?;
    let mut message = vec![0u8; size];
    loop {
        let mut got = 0;
        while got < size {
            match rustix::io::read(input, &mut message[got..]) {
                Ok(0) => bail!("the client closed the pipe"),
                Ok(n) => got += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => bail!("read: {e}"),
            }
        }
        write_all(output, &message)?;
        if payload::seq_of(&message) == Some(END_MARKER) {
            return Ok(());
        }
    }
}

fn write_all(fd: std::os::fd::BorrowedFd<'_>, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => bail!("write: {e}"),
        }
    }
    Ok(())
}
