/*
 * The commands of cfgsync, one per file in cmd/; each takes an argv that
 * starts at its own name and returns the process's exit code.
 */
#ifndef CFGSYNC_CMDS_H
#define CFGSYNC_CMDS_H

int	cmd_bundle(int, char **);
int	cmd_bundle_check(int, char **);
int	cmd_bundle_list(int, char **);
int	cmd_bundle_pack(int, char **);
int	cmd_bundle_unpack(int, char **);
int	cmd_fetch(int, char **);
int	cmd_pin(int, char **);
int	cmd_register(int, char **);
int	cmd_replace(int, char **);
int	cmd_serve(int, char **);
int	cmd_serve_bundle(int, char **);
int	cmd_serve_exec(int, char **);
int	cmd_status(int, char **);

/* The bundle verbs' option tables, whose usage `cfgsync bundle -h` shows. */
struct cli_command;
extern const struct cli_command bundle_check_command;
extern const struct cli_command bundle_list_command;
extern const struct cli_command bundle_pack_command;
extern const struct cli_command bundle_unpack_command;

#endif
