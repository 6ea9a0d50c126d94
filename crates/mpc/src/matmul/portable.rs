//! The reference kernel: plain wrapping `u16` arithmetic, one gallery row at a time.

use super::Job;
use super::layout::CHUNK;

/// `Σ a_k b_k mod 2^16`.
pub(super) fn dot(a: &[u16], b: &[u16]) -> u16 {
    a.iter()
        .zip(b)
        .fold(0u16, |sum, (&x, &y)| sum.wrapping_add(x.wrapping_mul(y)))
}

/// Every product of the job, straight from the definition.
pub(super) fn products(job: Job<'_>) {
    let mut row = vec![0u16; job.gallery.width()];
    for j in job.rows.clone() {
        job.gallery.read_row(j, &mut row);
        for s in 0..job.segments.len() {
            let columns = job.segments[s].start * CHUNK..job.segments[s].end * CHUNK;
            for m in 0..job.queries.len() {
                let value = dot(
                    &job.queries.plain_row(m)[columns.clone()],
                    &row[columns.clone()],
                );
                let at = job.out_index(s, m, j);
                job.out[at] = value;
            }
        }
    }
    // The unpacked row is a secret share: wipe it.
    zeroize::Zeroize::zeroize(&mut row);
}
