#include "widgets/ChartPanel.h"

#include <QContextMenuEvent>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QSvgGenerator>
#include <QtCharts/QChart>

ChartPanel::ChartPanel(QChart* chart, QWidget* parent)
    : QChartView(chart, parent)
{
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(320, 240);
    setObjectName(QStringLiteral("chart:") + chart->title());
}

void ChartPanel::contextMenuEvent(QContextMenuEvent* event)
{
    QMenu menu(this);
    QAction* save = menu.addAction(tr("Save chart as PNG or SVG…"));
    if (menu.exec(event->globalPos()) != save)
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save chart"), chart()->title() + QStringLiteral(".png"),
                                                      tr("PNG image (*.png);;SVG drawing (*.svg)"));
    QString error;
    if (!path.isEmpty() && !exportWidget(this, path, &error))
        QMessageBox::warning(this, tr("Save chart"), error);
}

bool exportWidget(QWidget* widget, const QString& path, QString* error)
{
    if (path.endsWith(QStringLiteral(".svg"), Qt::CaseInsensitive)) {
        QSvgGenerator generator;
        generator.setFileName(path);
        generator.setSize(widget->size());
        generator.setViewBox(widget->rect());
        generator.setTitle(widget->objectName());
        QPainter painter;
        if (!painter.begin(&generator)) {
            *error = QObject::tr("%1: cannot write").arg(path);
            return false;
        }
        widget->render(&painter);
        return true;
    }
    if (!widget->grab().save(path)) {
        *error = QObject::tr("%1: cannot write this image format or location").arg(path);
        return false;
    }
    return true;
}
