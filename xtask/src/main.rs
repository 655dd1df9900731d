mod fuzz;
mod packaging;
mod spec;

fn main() {
    let _ = (spec::run, fuzz::run, packaging::run);
}
