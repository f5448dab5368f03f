# envseal shell hook for fish: warns when a command line holds a likely secret.
function __envseal_preexec --on-event fish_preexec
    string match -qr '[A-Za-z0-9_+/=.-]{16,}' -- $argv[1]; or return 0
    printf '%s\n' $argv[1] | @ENVSEAL@ shell-hook --check
end
