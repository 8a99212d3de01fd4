/* fuzz_options.c: `nanprobe train`'s option parser.  The input is the
 * argument list, one argument per line (at most 64). */
#include "fuzz.h"

#include "options.h"
#include "train_cli.h"

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    char *argv[65];
    int argc = 0;
    for (char *p = text; argc < 64;) {
        argv[argc++] = p;
        char *newline = strchr(p, '\n');
        if (!newline) break;
        *newline = '\0';
        p = newline + 1;
    }
    argv[argc] = NULL;
    train_cli c;
    train_cli_init(&c);
    int help = 0;
    error err;
    if (train_cli_parse(&c, argc, argv, &help, &err) == 0 && !help) {
        /* What parsed is within what the options promise. */
        if (c.o.data.batch < 1 || c.o.model.width < 1 || c.o.fit.epochs < 1 || c.o.probes.probe_every < 1 ||
            c.o.probes.ring_steps < 1)
            abort();
        for (int i = 0; i < 4; i++)
            if (c.o.data.clip[i] < 0) abort();
    } else if (!help && !memchr(err.message, '\0', sizeof err.message)) {
        abort();
    }
    int clip[4];
    options_parse_clip(text, clip);
    free(text);
    return 0;
}
