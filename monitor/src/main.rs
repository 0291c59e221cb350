//! provlog-monitor binary (being built in issue 5).
fn main() {
    println!("provlog-monitor: not yet implemented");
}
