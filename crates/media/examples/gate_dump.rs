//! Dump the card gate's measurements for every candidate (development aid).
use athar_media::{card, decode_reduced};
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("DIR"));
    let text = std::fs::read_to_string(dir.join("../ground_truth.csv")).unwrap();
    let mut lines = text.lines();
    lines.next();
    println!("i,kind,scene,card,names,paper,surround,spread,text,b0,b1,b2,gaps,dot,angle");
    for (i, l) in lines.enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        let bytes = std::fs::read(dir.join(f[0])).unwrap();
        let work = decode_reduced(&bytes, card::MIN_WIDTH / 2).unwrap().image;
        card::gate_probes(&work, |p, r| {
            println!(
                "{i},{},{},{},{},{:.1},{:.1},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.2},{:.3}",
                f[3],
                f[4],
                f[11],
                f[10],
                r.paper,
                r.surround,
                r.spread,
                r.text,
                r.bands[0],
                r.bands[1],
                r.bands[2],
                r.gaps,
                r.dot,
                p.angle
            );
            true
        });
    }
}
