# SPDX-License-Identifier: MIT
# A crashing program under `tether run` with Windows Error Reporting's UI
# on: the job's JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION ends it at once
# instead of waiting in a WER dialog, and tether run ends within 15 s with
# the crash status (test_spawn_win32 --child crash: an access violation).
param([Parameter(Mandatory = $true)][string]$Bin)
. "$PSScriptRoot/common.ps1"
$tether = Join-Path $Bin 'tether.exe'
$crasher = Join-Path $Bin 'test_spawn_win32.exe'
if (-not (Test-Path $crasher)) { Skip "no $crasher (tests not built)" }
$key = 'HKCU:\Software\Microsoft\Windows\Windows Error Reporting'
New-Item -Path $key -Force | Out-Null
$old = (Get-ItemProperty -Path $key -Name DontShowUI -ErrorAction SilentlyContinue).DontShowUI
Set-ItemProperty -Path $key -Name DontShowUI -Value 0 -Type DWord
try {
  $tmp = Join-Path ([IO.Path]::GetTempPath()) "tether-wer-$PID"
  New-Item -ItemType Directory -Force -Path $tmp | Out-Null
  $p = Start-Logged $tether @('run', '--', $crasher, '--child', 'crash') "$tmp/run"
  if (-not (Wait-Ended $p 15000)) {
    Stop-Process -Id $p.Id -Force
    Fail 'tether run still waiting 15 s after the crash (WER dialog?)'
  }
  if ($p.ExitCode -eq 0) { Fail 'tether run reported success for a crash' }
  Write-Host ("tether run exit 0x{0:X}" -f $p.ExitCode)
} finally {
  if ($null -eq $old) { Remove-ItemProperty -Path $key -Name DontShowUI -ErrorAction SilentlyContinue }
  else { Set-ItemProperty -Path $key -Name DontShowUI -Value $old -Type DWord }
}
exit 0
