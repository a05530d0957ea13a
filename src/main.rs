fn main() -> std::process::ExitCode {
    tsfleet::run()
}
