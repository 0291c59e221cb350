//! provlog-server binary (being built in issue 3).
fn main() {
    println!("provlog-server: not yet implemented");
}
