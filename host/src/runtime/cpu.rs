//! CPU time spent in plugin calls: the calling thread's CPU clock read
//! around every poll of the call, so that time spent waiting (a fetch, the
//! executor) is not counted and a call that moves between worker threads is.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// `fut`, also yielding the CPU time its polls took.
pub struct CpuTimed<F> {
    fut: Pin<Box<F>>,
    spent: Duration,
}

impl<F: Future> CpuTimed<F> {
    /// Measures `fut`.
    pub fn new(fut: F) -> Self {
        CpuTimed {
            fut: Box::pin(fut),
            spent: Duration::ZERO,
        }
    }
}

impl<F: Future> Future for CpuTimed<F> {
    type Output = (F::Output, Duration);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let start = thread_cpu();
        let poll = this.fut.as_mut().poll(cx);
        this.spent += thread_cpu().saturating_sub(start);
        poll.map(|out| (out, this.spent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn busy_work_is_counted_and_sleeping_is_not() {
        let (sum, busy) = CpuTimed::new(async {
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            x
        })
        .await;
        assert!(sum > 0);
        assert!(busy > Duration::ZERO, "{busy:?}");
        let ((), idle) = CpuTimed::new(tokio::time::sleep(Duration::from_millis(200))).await;
        assert!(idle < Duration::from_millis(100), "sleeping cost {idle:?}");
    }
}
