/* version.h: the version written into every run database. */
#ifndef NANPROBE_VERSION_H
#define NANPROBE_VERSION_H

#define NANPROBE_VERSION "0.1.0"

#endif
