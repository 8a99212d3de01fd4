/* probe_precision.c: the probes under dynamic loss scaling (see sentinel.h's absorb_backward). */
#include "probe.h"
#include "probe_session.h"

void probe_absorb_backward(probe_session *ps, int on)
{
    ps->sentinel.absorb_backward = on;
    ps->sentinel.has_absorbed = 0;
}

const nonfinite_event *probe_absorbed(const probe_session *ps)
{
    return ps->sentinel.has_absorbed ? &ps->sentinel.absorbed : NULL;
}
