@echo off
REM dspace-deploy test look-alike of start-handle-server for Windows.
set DSPACEDIR=%~dp0..
for /F "delims=" %%a in ('"%DSPACEDIR%\bin\dspace.bat" dsprop --property handle.dir') do set HANDLEDIR=%%a
if "%JAVA_OPTS%"=="" set JAVA_OPTS=-Xmx256m
java %JAVA_OPTS% -classpath "%DSPACEDIR%\lib\*;%DSPACEDIR%\config" net.handle.server.Main "%HANDLEDIR%"
