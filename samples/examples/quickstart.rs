use ipcon_linux::{Handler, Message, Wait};

fn main() -> Result<(), ipcon_linux::Error> {
    // Register a peer named "hello" (the ipcon module must be loaded).
    let me = Handler::new("hello")?;
    // Send by name: any peer can, here "hello" writes to itself.
    me.send_unicast("hello", b"hi from the quick start")?;
    // Wait for a message; the kernel stamped who sent it.
    let mut msg = Message::new();
    me.receive(&mut msg, Wait::Forever)?;
    let from = msg.sender();
    let text = String::from_utf8_lossy(msg.payload());
    println!("{text:?} from pid {} (uid {})", from.pid, from.uid);
    Ok(())
}
