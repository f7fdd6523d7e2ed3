//! Business-hours arithmetic as a JSON-lines filter: `cargo run --example sla_calc < requests`.
//! See `support/sla_calc.rs` for the request and answer shapes.

use helpdesk_examples::sla_calc::SlaCalc;
use std::io::{BufRead, BufWriter, Write};

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut calc = SlaCalc::new();
    for line in stdin.lines() {
        // A line that is not UTF-8 is answered like any other bad line.
        let answer = match line {
            Ok(l) => calc.answer(&l),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                r#"{"error":"line is not valid UTF-8"}"#.to_owned()
            }
            Err(e) => return Err(e),
        };
        out.write_all(answer.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
