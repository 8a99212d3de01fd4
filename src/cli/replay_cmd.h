/* replay_cmd.h: `nanprobe replay RUN_DIR [--step S] [--precision P]`. */
#ifndef NANPROBE_REPLAY_CMD_H
#define NANPROBE_REPLAY_CMD_H

int replay_command(int argc, char **argv);

#endif
